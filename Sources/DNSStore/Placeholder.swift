enum _PlaceholderDNSStore {}

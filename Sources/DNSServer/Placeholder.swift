enum _PlaceholderDNSServer {}

enum _PlaceholderDNSZone {}

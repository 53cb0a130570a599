import DNSWire

/// `/etc/hosts` format (also dnsmasq's addn-hosts): `ADDRESS NAME [ALIAS...]`, several lines (and so several
/// addresses) per name allowed. Loopback, unspecified, multicast and link-local lines are the machine's own
/// plumbing, not lab hosts: they are skipped with a note.
public enum HostsFile {
    public static func parse(_ text: String, file: String, zone: DNSName, ttl: UInt32 = 3600) -> ImportResult {
        var out = ImportResult()
        for (n, line) in contentLines(text) {
            let w = line.words
            guard w.count >= 2 else {
                out.notes.append(ImportNote(file: file, line: n, text: line, reason: "needs an address and at least one name"))
                continue
            }
            let ip = w[0]
            guard IPv4Address(ip) != nil || IPv6Address(ip) != nil else {
                out.notes.append(ImportNote(file: file, line: n, text: line, reason: "'\(ip)' is not an IPv4 or IPv6 address"))
                continue
            }
            if isPlumbing(ip) {
                out.notes.append(ImportNote(file: file, line: n, text: line, reason: "loopback/link-local/multicast address: not a lab host, skipped"))
                continue
            }
            for name in w.dropFirst() {
                guard let o = owner(name, zone: zone), let r = addressRecord(o, ip, ttl: ttl) else {
                    out.notes.append(ImportNote(file: file, line: n, text: line, reason: "\(name) is outside zone \(zone)"))
                    continue
                }
                out.records.append(r)
            }
        }
        return out
    }

    static func isPlumbing(_ ip: String) -> Bool {
        if let v4 = IPv4Address(ip) {
            let b = v4.bytes
            return b[0] == 127 || b[0] == 0 || b[0] >= 224 || (b[0] == 169 && b[1] == 254)
        }
        if let v6 = IPv6Address(ip) {
            let b = v6.bytes
            return b.dropLast().allSatisfy { $0 == 0 } || b[0] == 0xFF || (b[0] == 0xFE && b[1] & 0xC0 == 0x80)
        }
        return false
    }
}

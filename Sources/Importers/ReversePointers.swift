import DNSWire

/// PTR records for addresses, made the way dnsmasq 2.90 makes them from hosts files and `host-record=`: in
/// the order given, each address points to the first name that claims it ("first one trumps"; seen on
/// dnsmasq itself: every address of a name gets its PTR, whatever its man page says of "the first address").
/// Each PTR lives in the reverse zone of its /24 (IPv4) or /64 (IPv6).
public enum ReversePointers {
    /// The PTRs for `records` (A/AAAA in the order read), with the TTL of each address record.
    public static func make(_ records: [ResourceRecord]) -> [ResourceRecord] {
        var addressesDone = Set<DNSName>()
        var out: [ResourceRecord] = []
        for r in records where r.type == .a || r.type == .aaaa {
            guard let rev = reverseName(r.rdata), addressesDone.insert(rev).inserted else { continue }
            out.append(ResourceRecord(name: rev, type: .ptr, ttl: r.ttl, rdata: .ptr(r.name)))
        }
        return out
    }

    /// 192.168.10.80 → 80.10.168.192.in-addr.arpa.; 2001:db8::1 → 1.0.0.…8.b.d.0.1.0.0.2.ip6.arpa.
    public static func reverseName(_ rdata: RData) -> DNSName? {
        switch rdata {
        case .a(let v4):
            return try? DNSName(v4.bytes.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa.")
        case .aaaa(let v6):
            let nibbles = v6.bytes.flatMap { [$0 >> 4, $0 & 0xF] }
            return try? DNSName(nibbles.reversed().map { String($0, radix: 16) }.joined(separator: ".") + ".ip6.arpa.")
        default:
            return nil
        }
    }

    /// The reverse zone a reverse name is put in: its /24 (three octets) or /64 (sixteen nibbles); nil for a
    /// name that is not a full address's reverse name.
    public static func zone(of reverse: DNSName) -> DNSName? {
        let labels = reverse.labels.map { String(decoding: $0, as: UTF8.self).lowercased() }
        if labels.count == 6, labels.suffix(2).elementsEqual(["in-addr", "arpa"]) { return reverse.parent }
        if labels.count == 34, labels.suffix(2).elementsEqual(["ip6", "arpa"]) { return reverse.suffix(labels: 18) }
        return nil
    }
}

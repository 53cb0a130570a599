import DNSWire

/// Where a question that reaches the resolver goes: the recursion ACL and the policies that answer locally
/// (domain-needed, bogus-priv), before the forward zone the route table found.
extension Resolver {
    /// Policy first (nothing leaves the machine for a refused or local answer), then the forward zone the
    /// route table found for the name (`forward`).
    public func route(_ q: Question, client: [UInt8], forward: Int?) -> Route { route(q, client: IPBits(bytes: client), forward: forward) }

    func route(_ q: Question, client: IPBits, forward best: Int?) -> Route {
        guard recursionACL.contains(client) else {
            return .refuse(.prohibited, "recursion is not offered to this client")
        }
        let isDefault = best.map { zoneNames[$0].isRoot } ?? true
        if isDefault {
            // domain-needed: a plain name ("nas") is never sent upstream (dnsmasq answers it locally too).
            if config.domainNeeded, q.name.labelCount == 1, ![RRType.ns, .soa, .ds, .dnskey].contains(q.type) {
                return .nxDomain("single-label names are not forwarded (domain_needed)")
            }
            // bogus-priv: reverse lookups for private ranges never go to public upstreams.
            if config.bogusPriv, Self.isPrivateReverse(q.name) {
                return .nxDomain("private-range reverse lookups are not forwarded (bogus_priv)")
            }
        }
        guard let b = best, b < zoneNames.count else { return .refuse(.notAuthoritative, "not authoritative and no upstream is configured") }
        return .forward(zone: b)
    }

    /// in-addr.arpa / ip6.arpa names inside RFC 1918, RFC 6598, loopback, link-local or ULA space.
    static let inAddrArpa = try! DNSName("in-addr.arpa."), ip6Arpa = try! DNSName("ip6.arpa.")

    static func isPrivateReverse(_ name: DNSName) -> Bool {
        // Cheap test first: almost every forwarded name is not a reverse name.
        guard name.isSubdomain(of: inAddrArpa) || name.isSubdomain(of: ip6Arpa) else { return false }
        let labels = name.labels.map { String(decoding: $0, as: UTF8.self).lowercased() }
        guard labels.count >= 2 else { return false }
        let tail = labels.suffix(2)
        if tail.elementsEqual(["in-addr", "arpa"]) {
            // dnsmasq's bogus-priv set (0/8, 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16, the TEST-NETs of
            // RFC 5737, the broadcast address) plus the shared space 100.64/10 (RFC 6598, RFC 7793).
            let o = labels.dropLast(2).reversed().compactMap { UInt8($0) }
            guard let a = o.first else { return false }
            let b = o.count > 1 ? o[1] : nil, c = o.count > 2 ? o[2] : nil
            switch a {
            case 0, 10, 127: return true
            case 169: return b == 254
            case 172: return b.map { (16...31).contains($0) } ?? false
            case 192: return b == 168 || (b == 0 && c == 2)
            case 198: return b == 51 && c == 100
            case 203: return b == 0 && c == 113
            case 100: return b.map { (64...127).contains($0) } ?? false
            case 255: return o.count == 4 && o.allSatisfy { $0 == 255 }
            default: return false
            }
        }
        if tail.elementsEqual(["ip6", "arpa"]) {
            // ::, ::1, link-local fe80::/10, site-local fec0::/10, ULA fc00::/7 (dnsmasq: fd00::/8) and the
            // documentation prefix 2001:db8::/32.
            let n = labels.dropLast(2).reversed().compactMap { UInt8($0, radix: 16) }
            guard n.count >= 2 else { return false }
            if n.count == 32, n.dropLast().allSatisfy({ $0 == 0 }), n[31] <= 1 { return true }
            if n[0] == 0xF && (n[1] == 0xC || n[1] == 0xD) { return true }
            if n.count >= 3, n[0] == 0xF, n[1] == 0xE, n[2] >= 8 { return true }  // fe80::/10 and fec0::/10
            if n.count >= 8, n.prefix(8).elementsEqual([2, 0, 0, 1, 0, 0xD, 0xB, 8]) { return true }
            return false
        }
        return false
    }
}

import DNSWire

extension Catalog {
    /// Why `qname`/`qtype` is answered the way it is from the served zones, step by step: the zone, the
    /// records or the wildcard that matched, CNAMEs followed, referrals, and why a negative answer is
    /// negative. `nil` when no served zone contains the name (the resolver's part, see DNSServer).
    public func explain(_ qname: DNSName, _ qtype: RRType) -> [String]? {
        guard zone(for: qname, type: qtype) != nil else { return nil }
        var out: [String] = []
        var name = qname
        var seen: [DNSName] = []
        func rows(_ set: RRSet, owner: DNSName?) -> [String] {
            set.records(owner: owner).map { "    \($0.name) \($0.ttl) \($0.type) \($0.rdata.presentation)" }
        }
        for step in 0...Self.maxChain {
            guard let zone = zone(for: name, type: qtype) else {
                out.append("\(name) is outside every served zone: the answer stops at the CNAME (the client's resolver follows it)")
                return out
            }
            if step == 0 || zone.origin != self.zone(for: seen.last ?? name, type: qtype)?.origin {
                out.append("zone \(zone.origin) (serial \(zone.soa.serial), \(zone.recordCount) records)")
            }
            switch zone.lookup(name, qtype) {
            case .answer(let set, let synth):
                if synth != nil {
                    out.append("  \(name) has no records of its own; the wildcard \(set.name) matches it (RFC 4592: its closest encloser is \(set.name.parent?.description ?? "?"))")
                } else {
                    out.append("  \(set.name) \(qtype == .any ? "ANY, answered with one RRset (RFC 8482): " + set.type.description : set.type.description):")
                }
                out += rows(set, owner: synth)
                return out
            case .cname(let set, let synth):
                out.append("  \(name) is an alias\(synth != nil ? " (through the wildcard \(set.name))" : ""):")
                out += rows(set, owner: synth)
                guard step < Self.maxChain, let target = set.rdatas.first?.targetName else {
                    out.append("  the chain is longer than \(Self.maxChain) steps: it stops here")
                    return out
                }
                seen.append(name)
                if seen.contains(target) {
                    out.append("  \(target) was already followed: a CNAME loop, the answer stops here")
                    return out
                }
                out.append("  following the CNAME to \(target)")
                name = target
            case .noData:
                var why: String
                if let node = zone.node(name) {
                    why = node.isEmptyNonTerminal ? "exists only as an empty non-terminal (names below it have records)"
                        : "exists with " + node.rrsets.types.map(\.description).joined(separator: ", ") + " but no \(qtype)"
                } else {
                    // Matched through a wildcard that lacks the type.
                    var e = name.parent
                    while let p = e, zone.node(p) == nil { e = p.parent }
                    let star = e?.wildcardChild()
                    let types = star.flatMap { zone.node($0) }?.rrsets.types.map(\.description).joined(separator: ", ") ?? "other types"
                    why = "has no records of its own; the wildcard \(star?.description ?? "*") matches it but holds \(types), no \(qtype)"
                }
                out.append("  \(name) \(why): NODATA, negative TTL \(min(zone.soaTTL, zone.soa.minimum)) s (RFC 2308: SOA TTL and MINIMUM, the lower)")
                return out
            case .nxDomain:
                var encloser = name.parent
                while let e = encloser, zone.node(e) == nil { encloser = e.parent }
                let e = encloser?.description ?? zone.origin.description
                out.append("  \(name) does not exist and no wildcard covers it (closest encloser \(e) has no *): NXDOMAIN, negative TTL \(min(zone.soaTTL, zone.soa.minimum)) s")
                return out
            case .delegation(let cut, let ns):
                out.append("  \(name) is at or below the delegation \(cut): a referral (AA clear) to")
                out += rows(ns, owner: nil)
                return out
            case .notInZone:
                return out
            }
        }
        return out
    }
}

extension RouteTable {
    /// `explain`'s account of the routing decision (`decide`) for one question: the zone part, then what the
    /// decision makes of it. The resolver's part (forward rule, upstream health, cache) is the caller's.
    public func explainDecision(_ qname: DNSName, _ qtype: RRType, resolverAvailable: Bool) -> (LocalDecision, [String]) {
        let decision = decide(qname, qtype, resolverAvailable: resolverAvailable)
        var out = catalog.explain(qname, qtype) ?? []
        let m = match(qname, qtype)
        switch decision {
        case .answer(let a):
            if let mark = m.mark {
                out.append(resolverAvailable
                    ? "  \(qname) is under the 'resolve upstream' name \(mark), but its own \(qtype) records win (as a hosts-file line beats server=/name/# in dnsmasq); types it has no records of go upstream"
                    : "  \(qname) is under the 'resolve upstream' name \(mark), but no resolver is configured: the zone answers")
            } else if !resolverAvailable, let z = m.zone, z.fallthroughMode != .off, a.answer.isEmpty {
                out.append("  zone \(z.origin) falls through (\(z.fallthroughMode)), but no resolver is configured: the zone answers")
            }
            out.append("answer: \(a.rcode)\(a.authoritative ? ", authoritative" : ", referral"), \(a.answer.count) answer record(s)")
        case .resolve(.upstreamName(let mark), let exists, _):
            out.append("  \(qname) is under the 'resolve upstream' name \(mark) (dnsctl upstream list): the resolver answers it"
                + (exists ? "; the name has records of its own, none of type \(qtype), so an upstream NXDOMAIN is answered as NODATA" : ""))
        case .resolve(.fallsThrough(let z, let mode), let exists, _):
            out.append("  zone \(z) falls through (\(mode)): it has no \(exists ? "\(qtype) data for this name" : "such name"), so the resolver answers"
                + (exists ? "; an upstream NXDOMAIN is answered as NODATA (the name exists here)" : ""))
        case .outside:
            break
        }
        return (decision, out)
    }
}

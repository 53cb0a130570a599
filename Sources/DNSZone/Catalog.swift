import DNSWire

/// The set of zones served, immutable; the server swaps whole catalogs when the store changes.
public final class Catalog: Sendable {
    /// The zones by origin, looked up by longest suffix (hickory's `Catalog.find`).
    let table: SuffixTable<Zone>
    public var zones: [DNSName: Zone] { table.entries }
    /// Bumped on every rebuild; lets caches keyed on a catalog notice a swap.
    public let generation: UInt64

    /// Names (with their subtrees) inside the zones that are answered by the resolver, not the zones; the
    /// route table looks them up.
    public let upstreamNames: Set<DNSName>

    public init(zones: [Zone], generation: UInt64 = 0, upstreamNames: [DNSName] = []) {
        table = SuffixTable(zones.map { ($0.origin, $0) })
        self.generation = generation
        self.upstreamNames = Set(upstreamNames)
    }

    /// True when `name` is at or below a name marked "resolve upstream".
    public func isResolvedUpstream(_ name: DNSName) -> Bool {
        var n: DNSName? = name
        while let c = n { if upstreamNames.contains(c) { return true }; n = c.parent }
        return false
    }

    /// The zone with the longest origin that contains `name`.
    public func zone(for name: DNSName) -> Zone? { table.longest(containing: name)?.value }

    /// The zone to ask for `name`: for DS at a child apex, the parent zone when we also serve it (RFC 4035 §3.1.4.1).
    func zone(for name: DNSName, type: RRType) -> Zone? {
        guard let z = zone(for: name) else { return nil }
        if type == .ds, z.origin == name, let p = name.parent, let parent = zone(for: p) { return parent }
        return z
    }
}

/// An authoritative answer ready to be written: sections, RCODE and the AA bit.
public struct AuthAnswer: Sendable, Equatable {
    public var rcode: RCode = .noError
    public var authoritative = true
    public var answer: [ResourceRecord] = []
    public var authority: [ResourceRecord] = []
    public var additional: [ResourceRecord] = []
    /// False when no served zone contains the question (the caller answers REFUSED or forwards).
    public var inZone = true
}

extension Catalog {
    /// Longest CNAME chain followed inside the served zones (CoreDNS uses 8 too).
    public static let maxChain = 8

    /// Answers one IN question from the served zones: CNAME chains followed across zones (RFC 1034 §4.3.2 step
    /// 3a; RCODE from the last name, RFC 6604), referrals with glue, negative answers with the SOA (RFC 2308).
    /// `first`: the zone holding `qname`, when the caller has already looked it up (the route table has).
    public func answer(_ qname: DNSName, _ qtype: RRType, in first: Zone? = nil) -> AuthAnswer {
        var out = AuthAnswer()
        var name = qname
        var seen: [DNSName] = []
        for step in 0...Self.maxChain {
            guard let zone = step == 0 && first != nil ? first : zone(for: name, type: qtype) else {
                if step == 0 { out.inZone = false }
                return out
            }
            switch zone.lookup(name, qtype) {
            case .answer(let set, let synth):
                out.answer += set.records(owner: synth)
                if set.type != .cname || qtype == .any || qtype == .cname { addAdditional(for: set, zone: zone, into: &out) }
                return out
            case .cname(let set, let synth):
                let rr = set.records(owner: synth)
                out.answer += rr
                guard step < Self.maxChain, let target = set.rdatas.first?.targetName else { return out }
                seen.append(name)
                // A loop ends the chain; the answer holds every CNAME once.
                if seen.contains(target) { return out }
                name = target
            case .noData:
                out.authority = [zone.negativeSOA]
                return out
            case .nxDomain:
                out.rcode = .nxDomain
                out.authority = [zone.negativeSOA]
                return out
            case .delegation(let cut, let ns):
                if step == 0 { out.authoritative = false }
                out.authority = ns.records()
                addGlue(for: ns, cut: cut, zone: zone, into: &out)
                return out
            case .notInZone:
                return out
            }
        }
        return out
    }

    /// In-bailiwick glue for a referral: addresses of NS targets at or below the zone, occluded ones included.
    func addGlue(for ns: RRSet, cut: DNSName, zone: Zone, into out: inout AuthAnswer) {
        for rd in ns.rdatas {
            guard let t = rd.targetName, t.isSubdomain(of: zone.origin) else { continue }
            for type in [RRType.a, .aaaa] { if let s = zone.rrset(t, type) { out.additional += s.records() } }
        }
    }

    /// Addresses for NS, MX, SRV and SVCB targets held authoritatively in the same zone (RFC 1035 §3.3.9).
    func addAdditional(for set: RRSet, zone: Zone, into out: inout AuthAnswer) {
        for rd in set.rdatas {
            let target: DNSName?
            if set.type == .ns { target = rd.targetName } else { target = rd.additionalTarget }
            guard let t = target, t.isSubdomain(of: zone.origin), let node = zone.node(t) else { continue }
            if set.type != .ns && zone.isOccluded(t) { continue }
            for type in [RRType.a, .aaaa] {
                if let s = node.rrsets[type], !out.additional.contains(where: { $0.name == t && $0.type == type }) {
                    out.additional += s.records()
                }
            }
        }
    }
}

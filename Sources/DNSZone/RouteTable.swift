import DNSWire

/// Why a question inside the served zones goes to the resolver.
public enum ResolveReason: Sendable, Equatable {
    /// At or below a "resolve upstream" name (dnsmasq's `server=/name/#`).
    case upstreamName(DNSName)
    /// The zone has no data for it and falls through (see `Fallthrough`).
    case fallsThrough(zone: DNSName, Fallthrough)
}

/// Where one question goes, decided before any network traffic. The query path and `explain` both take this
/// one decision, so they cannot disagree. `forward` is the resolver's forward zone for the name (an index into
/// `RouteTable.forwardZones`; nil: none holds it, so no upstream is configured for it).
public enum LocalDecision: Sendable, Equatable {
    /// Answered from the zones.
    case answer(AuthAnswer)
    /// Handed to the resolver. `nameExists`: the name has data here, so an upstream NXDOMAIN must reach the
    /// client as NODATA (the name exists; only the type is missing).
    case resolve(ResolveReason, nameExists: Bool, forward: Int?)
    /// No served zone holds the name.
    case outside(forward: Int?)
}

/// Every name that steers a question, in one suffix table: the served zones, the "resolve upstream" marks
/// inside them, and the resolver's forward zones (hickory-dns keeps forwarders in its catalog the same way).
/// One walk, longest suffix first, finds all three, and stops as soon as the decision has what it needs.
/// Built from one catalog and one resolver config, so the two can never be out of step.
public struct RouteTable: Sendable {
    struct Entry: Sendable {
        var zone: Zone?
        var mark = false
        var forward: Int?
    }

    public let catalog: Catalog
    /// The resolver's forward zones in its own order ("." is the default upstreams); `forward` indexes this.
    public let forwardZones: [DNSName]
    let table: SuffixTable<Entry>

    public init(catalog: Catalog, forwardZones: [DNSName] = []) {
        self.catalog = catalog
        self.forwardZones = forwardZones
        var entries: [DNSName: Entry] = [:]
        for (origin, zone) in catalog.zones { entries[origin, default: Entry()].zone = zone }
        for mark in catalog.upstreamNames { entries[mark, default: Entry()].mark = true }
        for (i, f) in forwardZones.enumerated() where entries[f]?.forward == nil { entries[f, default: Entry()].forward = i }
        table = SuffixTable(entries.map { ($0.key, $0.value) })
    }

    /// What the walk has found above a name so far.
    struct Match {
        var walk: SuffixTable<Entry>.Walk
        var zone: Zone?
        var mark: DNSName?
        var forward: Int?

        /// Walks until the next zone (or the end), noting marks and forward zones passed on the way.
        mutating func nextZone(_ table: SuffixTable<Entry>) -> Zone? {
            while let (name, e) = walk.next(in: table) {
                if e.mark && mark == nil { mark = name }
                if forward == nil { forward = e.forward }
                if let z = e.zone { return z }
            }
            return nil
        }

        /// The forward zone, walking on only if none was passed yet.
        mutating func forwardZone(_ table: SuffixTable<Entry>) -> Int? {
            while forward == nil, let (_, e) = walk.next(in: table) { forward = e.forward }
            return forward
        }
    }

    /// The zone to ask for `name`, the mark above it, and the walk to go on with.
    func match(_ name: DNSName, _ type: RRType) -> Match {
        var m = Match(walk: table.walk(name))
        m.zone = m.nextZone(table)
        // DS at a child apex: the parent zone when we also serve it (RFC 4035 §3.1.4.1).
        if type == .ds, let z = m.zone, z.origin == name, let parent = m.nextZone(table) { m.zone = parent }
        return m
    }

    /// The resolver's forward zone for `name`, alone (explain and tests).
    public func forwardZone(for name: DNSName) -> Int? {
        var m = Match(walk: table.walk(name))
        return m.forwardZone(table)
    }

    /// The one routing decision for a question of class IN. With no resolver (`resolverAvailable` false) every
    /// name inside the zones is answered from them: marks and fallthrough need somebody to resolve.
    /// Order, as dnsmasq has it: a name's own records beat a "resolve upstream" mark for the types they hold
    /// (a hosts-file line beats `server=/name/#`); a mark beats the zone's wildcard; a zone that falls through
    /// hands what it has no data for to the resolver.
    public func decide(_ qname: DNSName, _ qtype: RRType, resolverAvailable: Bool) -> LocalDecision {
        var m = match(qname, qtype)
        if resolverAvailable, let mark = m.mark {
            let node = m.zone?.node(qname)
            if let node, m.zone?.isOccluded(qname) == false, node.rrsets[qtype] != nil || node.rrsets[.cname] != nil || (qtype == .any && !node.rrsets.isEmpty) {
                return .answer(catalog.answer(qname, qtype, in: m.zone))
            }
            return .resolve(.upstreamName(mark), nameExists: node.map { !$0.rrsets.isEmpty } ?? false, forward: m.forwardZone(table))
        }
        guard let zone = m.zone else { return .outside(forward: resolverAvailable ? m.forwardZone(table) : nil) }
        let ans = catalog.answer(qname, qtype, in: zone)
        if resolverAvailable, ans.answer.isEmpty, ans.authoritative, zone.fallthroughMode != .off {
            if ans.rcode == .nxDomain {
                return .resolve(.fallsThrough(zone: zone.origin, zone.fallthroughMode), nameExists: false, forward: m.forwardZone(table))
            }
            if ans.rcode == .noError && zone.fallthroughMode == .types {
                return .resolve(.fallsThrough(zone: zone.origin, .types), nameExists: true, forward: m.forwardZone(table))
            }
        }
        return .answer(ans)
    }
}

import DNSWire

/// A problem found while building or checking a zone: which record and what to do about it.
public struct ZoneProblem: Sendable, CustomStringConvertible, Equatable {
    public enum Severity: Sendable { case error, warning }
    public var severity: Severity
    public var owner: DNSName
    public var type: RRType?
    public var message: String
    public var description: String {
        (severity == .error ? "error: " : "warning: ") + "\(owner)" + (type.map { " \($0)" } ?? "") + ": " + message
    }
}

public struct ZoneBuildError: Error, Sendable, CustomStringConvertible {
    public var zone: DNSName
    public var problems: [ZoneProblem]
    public var description: String {
        "zone \(zone): " + problems.filter { $0.severity == .error }.map(\.description).joined(separator: "; ")
    }
}

/// Collects records, runs the semantic checks, then freezes an immutable `Zone` with node flags set.
public struct ZoneBuilder {
    public static let maxTTL: UInt32 = 0x7FFF_FFFF  // RFC 2181 §8

    public let origin: DNSName
    public var fallthroughMode: Fallthrough = .off
    /// The records go straight into the structure the zone will serve: no second copy while building.
    var contents: ZoneContents
    public private(set) var problems: [ZoneProblem] = []
    /// Records added (duplicates not counted).
    var count: Int { contents.recordCount }

    /// `expectedRecords`: a size hint (the store knows it), so the node map is split right from the start.
    public init(origin: DNSName, fallthroughMode: Fallthrough = .off, expectedRecords: Int = 0) {
        self.origin = origin
        self.fallthroughMode = fallthroughMode
        contents = ZoneContents(origin: origin, expectedNames: expectedRecords)
    }

    /// Adds a record. Duplicates are dropped (RFC 2181 §5); a TTL differing within an RRset takes the first TTL
    /// with a warning, as BIND and Knot do. Returns the record as the zone holds it (its TTL may be the
    /// RRset's), nil when it was dropped or rejected: the one place duplicates and TTLs are settled.
    @discardableResult
    public mutating func add(_ rr: ResourceRecord) -> ResourceRecord? {
        guard rr.name.isSubdomain(of: origin) else {
            problems.append(ZoneProblem(severity: .error, owner: rr.name, type: rr.type, message: "owner is outside zone \(origin)"))
            return nil
        }
        guard rr.ttl <= Self.maxTTL else {
            problems.append(ZoneProblem(severity: .error, owner: rr.name, type: rr.type, message: "TTL \(rr.ttl) is above 2147483647 (RFC 2181 §8)"))
            return nil
        }
        guard rr.rrclass == .in else {
            problems.append(ZoneProblem(severity: .error, owner: rr.name, type: rr.type, message: "class \(rr.rrclass) is not served"))
            return nil
        }
        guard !rr.type.isMetaOrQuery else {
            problems.append(ZoneProblem(severity: .error, owner: rr.name, type: rr.type, message: "type \(rr.type) cannot be stored in a zone"))
            return nil
        }
        switch contents.add(rr, keepTTL: true) {
        case .added: return rr
        case .duplicate: return nil
        case .addedWithRRsetTTL(let ttl):
            problems.append(ZoneProblem(severity: .warning, owner: rr.name, type: rr.type,
                                        message: "TTL \(rr.ttl) differs from the RRset's \(ttl); using \(ttl) (RFC 2181 §5.2)"))
            var kept = rr
            kept.ttl = ttl
            return kept
        }
    }

    /// Checks the zone and builds it. Errors (any `.error` problem) throw; warnings stay in `problems`.
    public mutating func build() throws(ZoneBuildError) -> Zone {
        check()
        guard !problems.contains(where: { $0.severity == .error }) else { throw ZoneBuildError(zone: origin, problems: problems) }
        guard let zone = Zone(contents: contents, fallthroughMode: fallthroughMode) else { throw ZoneBuildError(zone: origin, problems: problems) }
        return zone
    }

    /// The checks for part of a zone: the builder holds every record of some names (the apex always among
    /// them), as a store edit that touches only those names does. Every rule of `check` is about one name, or
    /// about the apex, except glue, which `glue` answers for names the builder does not hold.
    public mutating func checkPart(glue: (DNSName) -> Bool) -> [ZoneProblem] {
        check(glue: glue)
        return problems
    }

    /// RFC 1035/2181 semantic checks: SOA once at the apex, NS at the apex, CNAME alone (RFC 2181 §10.1) and
    /// not at the apex, no DNAME-free tricks, NS targets that resolve.
    mutating func check(glue: (DNSName) -> Bool = { _ in false }) {
        func err(_ n: DNSName, _ t: RRType?, _ m: String) { problems.append(ZoneProblem(severity: .error, owner: n, type: t, message: m)) }
        func warn(_ n: DNSName, _ t: RRType?, _ m: String) { problems.append(ZoneProblem(severity: .warning, owner: n, type: t, message: m)) }
        let apex = contents.nodes[origin]?.rrsets ?? RRSets()
        if let soa = apex[.soa] {
            if soa.rdatas.count != 1 { err(origin, .soa, "the apex must have exactly one SOA record, found \(soa.rdatas.count)") }
        } else {
            err(origin, .soa, "the zone has no SOA record at its apex; add one (e.g. '@ SOA ns1 hostmaster 1 3600 600 1209600 300')")
        }
        if apex[.ns] == nil { err(origin, .ns, "the zone has no NS records at its apex; add at least one") }
        // Every rule below is about a name holding SOA, CNAME or NS: only those nodes are read whole.
        for (name, node) in contents.nodes.select({ $0.rrsets.holds(.soa) || $0.rrsets.holds(.cname) || $0.rrsets.holds(.ns) }) {
            let types = node.rrsets
            if name != origin && types[.soa] != nil { err(name, .soa, "SOA is only allowed at the zone apex \(origin)") }
            if types[.cname] != nil {
                if name == origin { err(name, .cname, "a CNAME cannot be at the zone apex (it would hide SOA and NS)") }
                if let c = types[.cname], c.rdatas.count > 1 { err(name, .cname, "more than one CNAME at one name (RFC 2181 §10.1)") }
                let others = types.types.filter { $0 != .cname && $0 != .rrsig && $0 != .nsec }
                if !others.isEmpty {
                    err(name, .cname, "CNAME cannot coexist with other data (\(others.map(\.description).joined(separator: ", "))) (RFC 2181 §10.1)")
                }
            }
            if name.isWildcard, types[.ns] != nil { err(name, .ns, "NS records at a wildcard name are not allowed (RFC 4592 §4.2)") }
            if let ns = types[.ns], name != origin {
                // In-bailiwick NS targets below the cut need glue.
                for rd in ns.rdatas {
                    guard let t = rd.targetName, t.isSubdomain(of: name) else { continue }
                    let target = contents.nodes[t]?.rrsets ?? RRSets()
                    let held = target[.a] != nil || target[.aaaa] != nil
                    if !held && !(target.isEmpty && glue(t)) { warn(name, .ns, "NS target \(t) is below the cut but has no glue A/AAAA") }
                }
            }
        }
    }
}

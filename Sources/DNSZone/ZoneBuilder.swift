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

    /// The delegation at `cut` names `target`, inside it, as a server, and no address for it is in the zone.
    public static func missingGlue(cut: DNSName, target: DNSName) -> ZoneProblem {
        ZoneProblem(severity: .warning, owner: cut, type: .ns, message: "NS target \(target) is below the cut but has no glue A/AAAA")
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
    /// Records `stage` holds for the next batch.
    private var staged: [ResourceRecord] = []
    /// Records per batch: enough that a million-name zone's 16 k shards get several each, few enough that the
    /// batch and its hashes and order stay a few megabytes (they are freed, but they raise the peak).
    var batch = batchSize
    /// Records added (duplicates not counted); staged ones count once a check or build has added them.
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
        addStaged()
        if let p = rejection(rr) {
            problems.append(p)
            return nil
        }
        let (kept, warning) = Self.settled(rr, contents.add(rr, keepTTL: true))
        if let warning { problems.append(warning) }
        return kept
    }

    /// Adds records as `add` would one at a time (the same zone, the same problems in the same order), in
    /// batches visited shard by shard, which is much faster for a large zone (`ZoneContents.add(contentsOf:)`).
    /// `changed` hears, by index, of every record the zone holds in another form (its RRset's TTL) or not at
    /// all (nil: a duplicate or rejected); the rest are held as given. `numberedFrom`: the index of `rrs[0]`,
    /// for a zone added in several calls.
    public mutating func add(contentsOf rrs: [ResourceRecord], numberedFrom first: Int = 0, changed: (Int, ResourceRecord?) -> Void) {
        addStaged()
        var from = 0
        while from < rrs.count {
            let to = min(rrs.count, from + batch)
            addBatch(rrs[from..<to]) { i, kept in changed(first + i, kept) }
            from = to
        }
    }

    /// Records per call of `add(contentsOf:)` that make one batch: a caller handing a large zone over in parts
    /// loses nothing by parts of this size.
    public static let batchSize = 1 << 16

    /// Adds a record with others later, in one batch (see `add(contentsOf:)`): the fast way to load a large zone
    /// when the caller needs no per-record outcome. Its problems appear once the batch is added, which any
    /// check or build does first.
    public mutating func stage(_ rr: ResourceRecord) {
        staged.append(rr)
        if staged.count >= batch { addStaged() }
    }

    private mutating func addStaged() {
        guard !staged.isEmpty else { return }
        var held: [ResourceRecord] = []
        swap(&held, &staged)
        addBatch(held[...]) { _, _ in }
        held.removeAll(keepingCapacity: true)  // the one buffer, reused by the next batch
        staged = held
    }

    private mutating func addBatch(_ rrs: ArraySlice<ResourceRecord>, changed: (Int, ResourceRecord?) -> Void) {
        // Problems are gathered with their record's index and put in record order, as one-by-one adds give.
        var found: [(Int, ZoneProblem)] = []
        // Rejected records are rare: only past the first one are the accepted ones copied out, with their indexes.
        var positions: [Int]?
        var valid: [ResourceRecord] = []
        for i in rrs.indices {
            if let p = rejection(rrs[i]) {
                if positions == nil {
                    positions = Array(rrs.startIndex..<i)
                    valid = Array(rrs[..<i])
                }
                found.append((i, p))
                changed(i, nil)
            } else if positions != nil {
                positions!.append(i)
                valid.append(rrs[i])
            }
        }
        contents.add(contentsOf: positions == nil ? rrs : valid[...], keepTTL: true) { v, outcome in
            guard outcome != .added else { return }  // the common case: kept as given, nothing to say
            let i = positions.map { $0[v] } ?? v
            let (kept, warning) = Self.settled(rrs[i], outcome)
            if let warning { found.append((i, warning)) }
            if outcome != .added { changed(i, kept) }
        }
        found.sort { $0.0 < $1.0 }
        problems.append(contentsOf: found.map(\.1))
    }

    /// Why a record cannot be in this zone at all, if it cannot.
    private func rejection(_ rr: ResourceRecord) -> ZoneProblem? {
        func no(_ m: String) -> ZoneProblem { ZoneProblem(severity: .error, owner: rr.name, type: rr.type, message: m) }
        guard rr.name.isSubdomain(of: origin) else { return no("owner is outside zone \(origin)") }
        guard rr.ttl <= Self.maxTTL else { return no("TTL \(rr.ttl) is above 2147483647 (RFC 2181 §8)") }
        guard rr.rrclass == .in else { return no("class \(rr.rrclass) is not served") }
        guard !rr.type.isMetaOrQuery else { return no("type \(rr.type) cannot be stored in a zone") }
        return nil
    }

    /// The record as the zone holds it after `outcome`, and the warning a differing TTL earns.
    private static func settled(_ rr: ResourceRecord, _ outcome: ZoneContents.Added) -> (ResourceRecord?, ZoneProblem?) {
        switch outcome {
        case .added: return (rr, nil)
        case .duplicate: return (nil, nil)
        case .addedWithRRsetTTL(let ttl):
            var kept = rr
            kept.ttl = ttl
            return (kept, ZoneProblem(severity: .warning, owner: rr.name, type: rr.type,
                                      message: "TTL \(rr.ttl) differs from the RRset's \(ttl); using \(ttl) (RFC 2181 §5.2)"))
        }
    }

    /// Checks the zone and builds it. Errors (any `.error` problem) throw; warnings stay in `problems`.
    public mutating func build() throws(ZoneBuildError) -> Zone {
        addStaged()
        check()
        guard !problems.contains(where: { $0.severity == .error }) else { throw ZoneBuildError(zone: origin, problems: problems) }
        guard let zone = Zone(contents: contents, fallthroughMode: fallthroughMode) else { throw ZoneBuildError(zone: origin, problems: problems) }
        return zone
    }

    /// The checks for part of a zone: the builder holds every record of some names (the apex always among
    /// them), as a store edit that touches only those names does. Every rule of `check` is about one name, or
    /// about the apex, except glue, which `glue` answers for names the builder does not hold.
    public mutating func checkPart(glue: (DNSName) -> Bool) -> [ZoneProblem] {
        addStaged()
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
        for (name, node) in contents.nodes.select({ RRSets.holdAny($0.pointer(to: \.rrsets)!, .soa, .cname, .ns) }) {
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
                    if !held && !(target.isEmpty && glue(t)) { problems.append(.missingGlue(cut: name, target: t)) }
                }
            }
        }
    }
}

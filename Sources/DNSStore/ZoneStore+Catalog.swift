import DNSWire
import DNSZone

/// A catalog as loaded, with the journal position it reflects: the reader applies changes after `changeID`.
public struct LoadedCatalog {
    public var catalog: Catalog
    /// Zones that failed their checks (possible only if the file was edited by hand), left out.
    public var problems: [String]
    public var changeID: Int64
}

extension ZoneStore {
    // MARK: loading for the server

    /// Builds the served catalog from one consistent read of every zone. A zone that fails its checks (possible
    /// only if the file was edited by hand) is left out and reported.
    public func loadCatalog(generation: UInt64) throws(StoreError) -> (Catalog, [String]) {
        let l = try loadSnapshot(generation: generation)
        return (l.catalog, l.problems)
    }

    /// `loadCatalog`, with the id of the last journal entry the catalog includes, read in the same transaction.
    /// The read fills this connection's cache with every page of the store, each read once. It is dropped after
    /// it: the server's watcher keeps its connection between loads, and would hold the pages (2 MB at 100,000
    /// records, a tenth of the server's memory) for good.
    public func loadSnapshot(generation: UInt64) throws(StoreError) -> LoadedCatalog {
        defer { releaseCache() }
        return try db.readTransaction { () throws(StoreError) -> LoadedCatalog in
            let s = try db.prepare("SELECT id, name, fallthrough FROM zones ORDER BY id")
            var list: [(Int64, String, Fallthrough)] = []
            while try s.step() { list.append((s.int(0), s.text(1), Fallthrough(rawValue: Int(s.int(2))) ?? .off)) }
            var problems: [String] = []
            var slot: [Int64: Int] = [:]
            var builders: [ZoneBuilder] = []
            let counts = try recordCounts()
            for (id, name, mode) in list {
                guard let origin = try? DNSName(name) else {
                    problems.append("zone '\(name)' has an invalid name; skipped")
                    continue
                }
                slot[id] = builders.count
                builders.append(ZoneBuilder(origin: origin, fallthroughMode: mode, expectedRecords: counts[id] ?? 0))
            }
            // One pass over the table in key order, every zone at once (zone_id leads the key).
            let all = try db.prepare("SELECT zone_id, \(RecordRow.columns) FROM records")
            var lastZone: Int64 = -1, at: Int?
            while try all.step() {
                let zid = all.int(0)
                if zid != lastZone { lastZone = zid; at = slot[zid] }
                guard let i = at else { continue }
                builders[i].stage(try record(from: all, at: 1))
            }
            var zones: [Zone] = []
            for i in builders.indices {
                switch Self.built(&builders[i]) {
                case .success(let z): zones.append(z)
                case .failure(let p): problems.append(p.message)
                }
            }
            return LoadedCatalog(catalog: Catalog(zones: zones, generation: generation, upstreamNames: try upstreamNames()),
                                 problems: problems, changeID: try lastChangeID())
        }
    }

    /// One zone built from the store, nil when there is no such zone; a failed build comes back as a problem.
    public func loadZone(_ origin: DNSName) throws(StoreError) -> Result<Zone, StoreError>? {
        let q = try db.prepare("SELECT id, fallthrough, name FROM zones WHERE name_key = ?")
        try q.bind([.blob(origin.lowercased.wire)])
        guard try q.step() else { return nil }
        let id = q.int(0), mode = Fallthrough(rawValue: Int(q.int(1))) ?? .off
        // The name as written when the zone was made: negative answers carry its case.
        return try buildZone(id: id, origin: (try? DNSName(q.text(2))) ?? origin, mode: mode)
    }

    /// Every zone's fallthrough mode: what a settings change needs, without reading a record.
    public func fallthroughModes() throws(StoreError) -> [DNSName: Fallthrough] {
        let s = try db.prepare("SELECT name, fallthrough FROM zones")
        var out: [DNSName: Fallthrough] = [:]
        while try s.step() { if let n = try? DNSName(s.text(0)) { out[n] = Fallthrough(rawValue: Int(s.int(1))) ?? .off } }
        return out
    }

    /// Runs `body` on one consistent view of the store (a read transaction): a journal read and the zone loads
    /// it calls for then agree.
    public func reading<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try db.readTransaction(body)
    }

    /// Records per zone, through the index: the builders' size hints.
    func recordCounts() throws(StoreError) -> [Int64: Int] {
        let s = try db.prepare("SELECT zone_id, COUNT(*) FROM records GROUP BY zone_id")
        var out: [Int64: Int] = [:]
        while try s.step() { out[s.int(0)] = Int(s.int(1)) }
        return out
    }

    func buildZone(id: Int64, origin: DNSName, mode: Fallthrough) throws(StoreError) -> Result<Zone, StoreError> {
        let n = try db.prepare("SELECT COUNT(*) FROM records WHERE zone_id = ?")
        try n.bind([.int(id)])
        var b = ZoneBuilder(origin: origin, fallthroughMode: mode, expectedRecords: try n.step() ? Int(n.int(0)) : 0)
        try forEachRecord(zoneID: id) { b.stage($0) }
        return Self.built(&b)
    }

    /// A builder's zone, or why it is not served: the one wording for a full load and a single zone's.
    static func built(_ b: inout ZoneBuilder) -> Result<Zone, StoreError> {
        do { return .success(try b.build()) } catch { return .failure(StoreError(.rejected, "zone \(b.origin) not served: \(error)")) }
    }
}

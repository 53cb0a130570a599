import DNSWire
import DNSZone

/// One RFC 2136 UPDATE message as the store applies it.
public struct UpdateEdit: Sendable {
    public var request: Update.Request
    /// Who sends it, kept as the records' source: "key NAME" or "address IP".
    public var source: String
    /// Whether the sender may change the records of `type` at `name` (its key's rules). Checked against the
    /// data for a delete of every RRset at a name, whose types only the zone knows.
    public var permits: @Sendable (DNSName, RRType) -> Bool
    /// The zone may not hold more records than this after the update.
    public var maxZoneRecords: Int

    public init(request: Update.Request, source: String, maxZoneRecords: Int = .max,
                permits: @escaping @Sendable (DNSName, RRType) -> Bool) {
        self.request = request
        self.source = source
        self.permits = permits
        self.maxZoneRecords = maxZoneRecords
    }
}

/// What became of one UPDATE.
public enum UpdateResult: Sendable, Equatable {
    /// Applied (or nothing to change, `diff` empty): NOERROR.
    case applied(ZoneDiff)
    /// Refused whole, nothing changed: the RCODE and the reason for the log.
    case refused(Update.Refusal)
}

extension ZoneStore {
    /// Applies UPDATE messages in order, each through the same partial edit as `dnsctl record` (the names it
    /// touches read and checked, the serial bumped once, one journal entry), each all or nothing, and all of
    /// them in one transaction: one commit for a batch of updates waiting together. A failed prerequisite, a
    /// record beyond the key's rules, or a zone check that fails refuses that message alone.
    public func update(_ edits: [UpdateEdit], recordCount: (DNSName) -> Int = { _ in 0 }) throws(StoreError) -> [UpdateResult] {
        try db.transaction { () throws(StoreError) -> [UpdateResult] in
            var out: [UpdateResult] = []
            var grown: [DNSName: Int] = [:]
            for e in edits {
                var refusal: Update.Refusal?
                let zone = e.request.zone
                do throws(StoreError) {
                    let diff = try db.savepoint { () throws(StoreError) -> ZoneDiff in
                        let diff = try applyUpdate(e, refusal: &refusal)
                        let growth = diff.added.count - diff.removed.count
                        if growth > 0, recordCount(zone) + (grown[zone] ?? 0) + growth > e.maxZoneRecords {
                            refusal = Update.Refusal(.refused, "the zone would hold more than \(e.maxZoneRecords) records (update.max_zone_records)")
                            throw StoreError(.rejected, refusal!.reason)  // the savepoint undoes it, journal entry included
                        }
                        return diff
                    }
                    grown[zone, default: 0] += diff.added.count - diff.removed.count
                    out.append(.applied(diff))
                } catch {
                    // A failing disk is not this message's fault: the whole batch fails, and is answered SERVFAIL.
                    if refusal == nil, error.code != .rejected, error.code != .notFound { throw error }
                    out.append(.refused(refusal ?? Update.Refusal(error.code == .notFound ? .notAuth : .refused, error.message)))
                }
            }
            return out
        }
    }

    private func applyUpdate(_ e: UpdateEdit, refusal: inout Update.Refusal?) throws(StoreError) -> ZoneDiff {
        let req = e.request
        var caught: Update.Refusal?
        defer { refusal = caught }
        return try edit(zone: req.zone, names: req.names, by: e.source) { (records: inout [ResourceRecord]) throws(StoreError) in
            if let r = Update.check(req.prerequisites, records: { n in records.filter { $0.name == n } }) {
                caught = r
                throw StoreError(.rejected, r.reason)
            }
            // A delete of every RRset at a name reaches the types the name holds: each must be the key's.
            for u in req.updates where u.rrclass == .any && u.type == .any {
                for r in records where r.name == u.name && !(r.name == req.zone && (r.type == .soa || r.type == .ns)) && !e.permits(r.name, r.type) {
                    caught = Update.Refusal(.refused, "deleting every RRset at \(u.name) would delete its \(r.type) records, which this key may not change")
                    throw StoreError(.rejected, caught!.reason)
                }
            }
            Update.apply(req.updates, zone: req.zone, to: &records)
        }
    }

    /// Records who changed these records last, and when.
    func noteSource(zoneID id: Int64, _ records: [ResourceRecord], _ source: String) throws(StoreError) {
        guard !records.isEmpty else { return }
        let s = try db.prepare("INSERT OR REPLACE INTO record_source(zone_id, owner_key, type, rdata_key, source, at) VALUES (?, ?, ?, ?, ?, ?)")
        let at = now()
        for r in records {
            try s.run([.int(id), .blob(r.name.lowercased.wire), .int(Int64(r.type.rawValue)), .blob(r.rdata.wireBytes(canonical: true)), .text(source), .int(at)])
        }
    }

    /// Who last changed each record at `name` of a zone (nil: loaded whole, from a zone file or a transfer).
    public func sources(zone origin: DNSName, at name: DNSName) throws(StoreError) -> [(ResourceRecord, source: String?, at: Int64?)] {
        try db.readTransaction { () throws(StoreError) -> [(ResourceRecord, source: String?, at: Int64?)] in
            guard let id = try zoneID(origin) else { throw StoreError(.notFound, "zone \(origin) does not exist (see 'dnsctl zone list')") }
            let q = try db.prepare("SELECT source, at FROM record_source WHERE zone_id = ? AND owner_key = ? AND type = ? AND rdata_key = ?")
            var out: [(ResourceRecord, source: String?, at: Int64?)] = []
            for r in try records(zoneID: id, owners: [name]) {
                try q.bind([.int(id), .blob(r.name.lowercased.wire), .int(Int64(r.type.rawValue)), .blob(r.rdata.wireBytes(canonical: true))])
                out.append(try q.step() ? (r, q.text(0), q.int(1)) : (r, nil, nil))
            }
            return out
        }
    }

    /// Who last changed each record of a zone, by record: what `dnsctl record list --source` prints.
    public func sources(zone origin: DNSName) throws(StoreError) -> [SourceKey: (source: String, at: Int64)] {
        try db.readTransaction { () throws(StoreError) -> [SourceKey: (source: String, at: Int64)] in
            guard let id = try zoneID(origin) else { throw StoreError(.notFound, "zone \(origin) does not exist (see 'dnsctl zone list')") }
            let q = try db.prepare("SELECT owner_key, type, rdata_key, source, at FROM record_source WHERE zone_id = ?")
            try q.bind([.int(id)])
            var out: [SourceKey: (source: String, at: Int64)] = [:]
            while try q.step() {
                out[SourceKey(owner: q.blob(0), type: UInt16(truncatingIfNeeded: q.int(1)), rdata: q.blob(2))] = (q.text(3), q.int(4))
            }
            return out
        }
    }
}

/// A record's identity in the store (owner lowercased, type, canonical RDATA), TTL aside.
public struct SourceKey: Hashable, Sendable {
    public var owner: [UInt8], type: UInt16, rdata: [UInt8]
    public init(owner: [UInt8], type: UInt16, rdata: [UInt8]) {
        self.owner = owner
        self.type = type
        self.rdata = rdata
    }
    public init(_ r: ResourceRecord) { self.init(owner: r.name.lowercased.wire, type: r.type.rawValue, rdata: r.rdata.wireBytes(canonical: true)) }
}

import DNSWire
import DNSZone

/// What one journal entry says happened.
public enum ChangeKind: Int64, Sendable {
    /// Records of one zone were removed and added (the rows are in the journal).
    case records = 0
    /// A zone (or, with no zone, the whole store) was replaced by more than the journal keeps rows for, or
    /// created: load it whole.
    case replaced = 1
    /// A zone was removed.
    case zoneRemoved = 2
    /// A zone's mode, or the names resolved upstream: no record changed.
    case settings = 3
}

/// One committed change, as the journal holds it.
public struct StoreChange: Sendable {
    public var id: Int64
    /// Nil: the change is about the whole store.
    public var zone: DNSName?
    public var kind: ChangeKind
    public var removed: [ResourceRecord] = []
    public var added: [ResourceRecord] = []
}

/// How much history the journal keeps.
public struct JournalLimits: Sendable {
    /// A change with more records than this is journaled as "replaced": a reader loads the zone whole, and a
    /// zone transfer falls back to AXFR, both cheaper than replaying it.
    public var maxRecords = 10_000
    /// Entries kept per zone (and for store-wide entries); older ones are trimmed in the writing transaction.
    public var keep = 1_000
    /// Bytes of records kept per zone (owners, RDATA and 10 bytes of fixed fields a row), newest entries
    /// first: 1,000 entries of 10,000 large records would otherwise make the journal gigabytes.
    public var maxBytes = 64 << 20
    public init() {}
}

extension ZoneStore {
    /// Appends a change to the journal, inside the caller's transaction, and trims the oldest entries.
    func journal(zoneID id: Int64?, kind: ChangeKind, removed: [ResourceRecord] = [], added: [ResourceRecord] = []) throws(StoreError) {
        var zoneKey: SQLValue = .null
        if let id {
            let q = try db.prepare("SELECT name_key FROM zones WHERE id = ?")
            try q.bind([.int(id)])
            if try q.step() { zoneKey = .blob(q.blob(0)) }
        }
        try journal(zoneKey: zoneKey, kind: kind, removed: removed, added: added)
    }

    func journal(zoneKey: SQLValue, kind: ChangeKind, removed: [ResourceRecord] = [], added: [ResourceRecord] = []) throws(StoreError) {
        let rows = removed.count + added.count
        // Too many rows, or more bytes than the zone's whole journal may hold: journaled as "replaced". Too
        // many rows is enough (no need to size a million records).
        let bytes = rows > journalLimits.maxRecords ? 0 : Self.journalBytes(removed) + Self.journalBytes(added)
        let big = kind == .records && (rows > journalLimits.maxRecords || bytes > journalLimits.maxBytes)
        let serialFrom = removed.first { $0.type == .soa }?.rdata.soa?.serial
        let serialTo = added.first { $0.type == .soa }?.rdata.soa?.serial
        try db.prepare("INSERT INTO changes(zone_key, kind, serial_from, serial_to, at, bytes) VALUES (?, ?, ?, ?, ?, ?)").run([
            zoneKey, .int((big ? ChangeKind.replaced : kind).rawValue),
            serialFrom.map { .int(Int64($0)) } ?? .null, serialTo.map { .int(Int64($0)) } ?? .null, .int(now()),
            .int(kind == .records && !big ? Int64(bytes) : 0),
        ])
        let change = db.lastInsertRowID
        if kind == .records && !big {
            let ins = try db.prepare("INSERT INTO change_records(change_id, added, owner, type, ttl, rdata) VALUES (?, ?, ?, ?, ?, ?)")
            for (flag, list) in [(Int64(0), removed), (1, added)] {
                for r in list {
                    try ins.run([.int(change), .int(flag), .blob(r.name.wire), .int(Int64(r.type.rawValue)), .int(Int64(r.ttl)), .blob(r.rdata.wireBytes())])
                }
            }
        }
        try trimJournal(zoneKey: zoneKey)
    }

    /// What records count against `JournalLimits.maxBytes`: owner, RDATA and 10 bytes of fixed fields a row,
    /// as the schema 7 backfill counts them.
    static func journalBytes(_ rrs: [ResourceRecord]) -> Int {
        rrs.reduce(0) { $0 + $1.name.wire.count + $1.rdata.wireBytes().count + 10 }
    }

    /// Drops a zone's oldest entries beyond `keep`, and those beyond `maxBytes` counted from the newest. The
    /// newest entry always stays (it is within the bound: a larger one is journaled as "replaced"), so the
    /// journal's last id never goes back and a reader never misses a commit.
    func trimJournal(zoneKey: SQLValue) throws(StoreError) {
        try db.prepare("""
            DELETE FROM changes WHERE zone_key IS ?1 AND id <= (SELECT id FROM changes WHERE zone_key IS ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)
            """).run([zoneKey, .int(Int64(journalLimits.keep))])
        try db.prepare("""
            DELETE FROM changes WHERE zone_key IS ?1 AND id <= (
                SELECT id FROM (SELECT id, SUM(bytes) OVER (ORDER BY id DESC) AS total FROM changes WHERE zone_key IS ?1)
                WHERE total > ?2 ORDER BY id DESC LIMIT 1)
            """).run([zoneKey, .int(Int64(journalLimits.maxBytes))])
    }

    /// The id of the newest journal entry (0 in an empty journal).
    public func lastChangeID() throws(StoreError) -> Int64 {
        try db.scalarInt("SELECT COALESCE(MAX(id), 0) FROM changes")
    }

    /// Every change committed after entry `id`, oldest first, or nil when the journal no longer reaches back
    /// that far (trimmed, or the store was replaced): the caller then loads everything.
    public func changes(after id: Int64) throws(StoreError) -> [StoreChange]? {
        try db.readTransaction { () throws(StoreError) -> [StoreChange]? in
            let head = try db.prepare("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM changes WHERE id > ?")
            try head.bind([.int(id)])
            guard try head.step() else { return nil }
            let count = head.int(0), newest = head.int(1)
            if count == 0 { return try lastChangeID() >= id ? [] : nil }
            guard newest - id == count else { return nil }
            let s = try db.prepare("SELECT id, zone_key, kind FROM changes WHERE id > ? ORDER BY id")
            try s.bind([.int(id)])
            var out: [StoreChange] = []
            while try s.step() {
                guard let kind = ChangeKind(rawValue: s.int(2)) else { return nil }
                let zone = s.isNull(1) ? nil : try? DNSName(wire: s.blob(1))
                out.append(StoreChange(id: s.int(0), zone: zone, kind: kind))
            }
            let rows = try db.prepare("SELECT added, owner, type, ttl, rdata FROM change_records WHERE change_id = ? ORDER BY rowid")
            for i in out.indices where out[i].kind == .records {
                try rows.bind([.int(out[i].id)])
                while try rows.step() {
                    let r = try decodeRecord(owner: rows.blob(1), type: rows.int(2), ttl: rows.int(3), rdata: rows.blob(4))
                    if rows.int(0) == 1 { out[i].added.append(r) } else { out[i].removed.append(r) }
                }
            }
            return out
        }
    }

    func decodeRecord(owner: [UInt8], type raw: Int64, ttl: Int64, rdata: [UInt8]) throws(StoreError) -> ResourceRecord {
        let type = RRType(UInt16(truncatingIfNeeded: raw))
        do {
            let name = try DNSName(wire: owner)
            var r = WireReader(rdata)
            let rd = try RData.read(type: type, from: &r, length: rdata.count)
            return ResourceRecord(name: name, type: type, ttl: UInt32(clamping: ttl), rdata: rd)
        } catch {
            throw StoreError(.corrupt, "a record of type \(type) in \(db.path) does not decode (\(error)); the store was edited outside dnsctl")
        }
    }
}

import CSQLite
import DNSWire
import DNSZone
import SystemIO

#if canImport(Glibc)
import Glibc
#endif

public struct ZoneSummary: Sendable, Equatable {
    public var name: DNSName
    public var records: Int
    public var serial: UInt32
    public var fallthroughMode: Fallthrough = .off
}

/// What an edit or import changed (or, for a dry run, would change).
public struct ZoneDiff: Sendable, Equatable {
    public var zone: DNSName
    public var added: [ResourceRecord] = []
    public var removed: [ResourceRecord] = []
    public var serial: UInt32?
    public var warnings: [String] = []
    public var isEmpty: Bool { added.isEmpty && removed.isEmpty }
}

/// The zones and records in SQLite. The only type with SQL in it; `dnsctl` and the server both go through it.
/// Not Sendable: one instance per thread.
public final class ZoneStore {
    public static let schemaVersion: Int64 = 10
    let db: Database
    let now: @Sendable () -> Int64
    /// The store's files are owner read-write, group read, nobody else: they will hold TSIG secrets.
    public static let fileMode: mode_t = 0o640
    public var journalLimits = JournalLimits()
    /// Set when opening tightened the mode of an existing store's files: one line for the caller's log.
    public private(set) var modeTightened: String?
    /// The RDATA of the row being read (`record(from:)`).
    var rowBuffer: [UInt8] = []

    /// Opens (creating if needed) the store at `path`: WAL, foreign keys, a busy timeout, migrations.
    public init(path: String, readOnly: Bool = false, busyTimeoutMs: Int32 = 5000,
                now: @escaping @Sendable () -> Int64 = { Int64(time(nil)) }) throws(StoreError) {
        if !readOnly { modeTightened = Self.secureFiles(path) }
        var d = try Database(path: path, readOnly: readOnly)
        if readOnly, access(path + "-wal", F_OK) != 0, (try? d.scalarInt("PRAGMA user_version")) == nil {
            // A WAL store with no -wal/-shm beside it (no connection open) in a directory this user cannot
            // write: SQLite cannot make the -shm to read through. With no -wal there is nothing uncommitted,
            // so the file alone is the store: read it as immutable.
            d = try Database(path: path, readOnly: true, immutable: true)
        }
        db = d
        self.now = now
        sqlite3_busy_timeout(db.handle, busyTimeoutMs)
        try db.exec("PRAGMA foreign_keys = ON")
        if readOnly {
            // Reading needs the current layout; only a writer can upgrade it.
            let v = try db.scalarInt("PRAGMA user_version")
            if v != Self.schemaVersion {
                throw StoreError(.readOnly, "store \(path) has schema version \(v), this dnsctl reads \(Self.schemaVersion): run any edit (or restart jamdns) as a user who may write it, which upgrades it")
            }
        } else {
            try db.exec("PRAGMA journal_mode = WAL")
            // FULL: a committed edit survives a power cut on the Pi's SD card, not just a crash.
            try db.exec("PRAGMA synchronous = FULL")
            try migrate()
        }
    }

    /// Creates a missing store file 0640 (SQLite gives its -wal and -shm the database's mode), or takes group
    /// write and anything for others off an existing one and its -wal/-shm, saying what changed.
    static func secureFiles(_ path: String) -> String? {
        if access(path, F_OK) != 0 {
            let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, fileMode)
            if fd >= 0 { close(fd) }
            return nil
        }
        var changed: [String] = []
        for p in [path, path + "-wal", path + "-shm"] {
            var st = stat()
            guard stat(p, &st) == 0, st.st_mode & ~fileMode & 0o777 != 0 else { continue }
            let old = st.st_mode & 0o777, new = old & fileMode
            if chmod(p, new) == 0 { changed.append("\(p) \(String(old, radix: 8)) -> \(String(new, radix: 8))") }
        }
        return changed.isEmpty ? nil : "the store was readable by others; its mode is now owner read-write, group read (it will hold TSIG keys): "
            + changed.joined(separator: ", ")
    }

    /// Where a jamdns serving the store at `path` listens for control requests, unless configured otherwise:
    /// `<directory of the store>/jamdns.ctl`. jamdns, dnsctl and jamdns-ddns all use this, so they agree.
    public static func defaultControlSocket(forStore path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "jamdns.ctl" }
        return String(path[...slash]) + "jamdns.ctl"
    }

    /// Changes whenever another connection commits (PRAGMA data_version): the server polls this.
    public func dataVersion() throws(StoreError) -> Int64 { try db.scalarInt("PRAGMA data_version") }

    /// Bytes this connection's page cache holds now.
    public var cacheBytes: Int {
        var current: Int32 = 0, high: Int32 = 0
        sqlite3_db_status(db.handle, SQLITE_DBSTATUS_CACHE_USED, &current, &high, 0)
        return Int(current)
    }

    /// Drops this connection's page cache (pages in use stay).
    public func releaseCache() { sqlite3_db_release_memory(db.handle) }

    public func integrityCheck() throws(StoreError) -> String {
        let s = try db.prepare("PRAGMA integrity_check")
        var out: [String] = []
        while try s.step() { out.append(s.text(0)) }
        return out.joined(separator: "\n")
    }

    // MARK: zones

    public func zones() throws(StoreError) -> [ZoneSummary] {
        try db.readTransaction { () throws(StoreError) in
            let s = try db.prepare("""
                SELECT z.name, (SELECT COUNT(*) FROM records r WHERE r.zone_id = z.id),
                       (SELECT CASE WHEN length(rdata) > 0 THEN rdata ELSE rdata_key END FROM records r WHERE r.zone_id = z.id AND r.type = 6 LIMIT 1), z.fallthrough
                FROM zones z ORDER BY z.name
                """)
            var out: [ZoneSummary] = []
            while try s.step() {
                guard let name = try? DNSName(s.text(0)) else { continue }
                var serial: UInt32 = 0
                var r = WireReader(s.blob(2))
                if case .soa(let soa)? = try? RData.read(type: .soa, from: &r, length: r.remaining) { serial = soa.serial }
                out.append(ZoneSummary(name: name, records: Int(s.int(1)), serial: serial, fallthroughMode: Fallthrough(rawValue: Int(s.int(3))) ?? .off))
            }
            return out.sorted { $0.name < $1.name }
        }
    }

    /// The zone's id for an edit by dnsctl: not found, or a secondary's copy (which only its transfers
    /// change), is an error that says what to do instead.
    func editableZoneID(_ origin: DNSName) throws(StoreError) -> Int64 {
        let s = try db.prepare("SELECT id, role FROM zones WHERE name_key = ?")
        try s.bind([.blob(origin.lowercased.wire)])
        guard try s.step() else { throw StoreError(.notFound, "zone \(origin) does not exist (see 'dnsctl zone list')") }
        guard s.int(1) == ZoneRole.primary.rawValue else {
            throw StoreError(.rejected, "zone \(origin) is a secondary: its data comes from its primaries by zone transfer; edit it there (or take 'primaries' out of its [zone] table in jamdns.toml to make it a primary here)")
        }
        return s.int(0)
    }

    func zoneID(_ origin: DNSName) throws(StoreError) -> Int64? {
        let s = try db.prepare("SELECT id FROM zones WHERE name_key = ?")
        try s.bind([.blob(origin.lowercased.wire)])
        return try s.step() ? s.int(0) : nil
    }

    /// The served zone holding `name` (longest suffix), if any.
    public func zone(containing name: DNSName) throws(StoreError) -> DNSName? {
        var n: DNSName? = name
        while let c = n {
            if try zoneID(c) != nil { return c }
            n = c.parent
        }
        return nil
    }

    /// Creates a zone with an SOA and one NS (`primary`, default `ns1.<zone>`), valid from the start.
    @discardableResult
    public func addZone(_ origin: DNSName, primary: DNSName? = nil, hostmaster: DNSName? = nil, ttl: UInt32 = 3600,
                        fallthroughMode: Fallthrough = .off) throws(StoreError) -> ZoneDiff {
        try db.transaction { () throws(StoreError) -> ZoneDiff in
            try addZoneLocked(origin, primary: primary, hostmaster: hostmaster, ttl: ttl, fallthroughMode: fallthroughMode)
        }
    }

    /// The default primary name server of a new zone: `ns1.<zone>`.
    public static func defaultPrimary(_ origin: DNSName) -> DNSName { (try? origin.prepending(label: Array("ns1".utf8))) ?? origin }

    func addZoneLocked(_ origin: DNSName, primary: DNSName?, hostmaster: DNSName?, ttl: UInt32, fallthroughMode: Fallthrough) throws(StoreError) -> ZoneDiff {
        let ns = primary ?? Self.defaultPrimary(origin)
        let mbox = hostmaster ?? ((try? origin.prepending(label: Array("hostmaster".utf8))) ?? origin)
        let soa = SOA(mname: ns, rname: mbox, serial: Self.nextSerial(after: 0, now: now()), refresh: 3600, retry: 600, expire: 1_209_600, minimum: 300)
        let records = [
            ResourceRecord(name: origin, type: .soa, ttl: ttl, rdata: .soa(soa)),
            ResourceRecord(name: origin, type: .ns, ttl: ttl, rdata: .ns(ns)),
        ]
        guard try zoneID(origin) == nil else { throw StoreError(.exists, "zone \(origin) already exists") }
        var b = ZoneBuilder(origin: origin)
        for r in records { b.add(r) }
        do { _ = try b.build() } catch { throw StoreError(.rejected, String(describing: error)) }
        let id = try insertZone(origin)
        if fallthroughMode != .off {
            try db.prepare("UPDATE zones SET fallthrough = ? WHERE id = ?").run([.int(Int64(fallthroughMode.rawValue)), .int(id)])
        }
        var diff = ZoneDiff(zone: origin, added: records, serial: soa.serial)
        try apply(zoneID: id, added: records, removed: [])
        diff.warnings = b.problems.filter { $0.severity == .warning }.map(\.description)
        return diff
    }

    func insertZone(_ origin: DNSName) throws(StoreError) -> Int64 {
        let t = now()
        try db.prepare("INSERT INTO zones(name, name_key, created_at, updated_at) VALUES (?, ?, ?, ?)")
            .run([.text(origin.description), .blob(origin.lowercased.wire), .int(t), .int(t)])
        return db.lastInsertRowID
    }

    /// Sets what the zone does with questions it has no data for. Returns the previous mode.
    @discardableResult
    public func setFallthrough(_ origin: DNSName, _ mode: Fallthrough) throws(StoreError) -> Fallthrough {
        try db.transaction { () throws(StoreError) -> Fallthrough in try setFallthroughLocked(origin, mode) }
    }

    func setFallthroughLocked(_ origin: DNSName, _ mode: Fallthrough) throws(StoreError) -> Fallthrough {
        let id = try editableZoneID(origin)
        let q = try db.prepare("SELECT fallthrough FROM zones WHERE id = ?")
        try q.bind([.int(id)])
        let old = try q.step() ? Fallthrough(rawValue: Int(q.int(0))) ?? .off : .off
        if old != mode {
            try db.prepare("UPDATE zones SET fallthrough = ?, updated_at = ? WHERE id = ?").run([.int(Int64(mode.rawValue)), .int(now()), .int(id)])
            try journal(zoneID: id, kind: .settings)
        }
        return old
    }

    public func removeZone(_ origin: DNSName) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            let id = try editableZoneID(origin)
            try db.prepare("DELETE FROM zones WHERE id = ?").run([.int(id)])
            // The zone's history goes (a zone made again under this name must not inherit it); its entries stay
            // as "replaced", so the ids a reader counts on have no gap and a reader behind loads nothing for it.
            try db.prepare("DELETE FROM change_records WHERE change_id IN (SELECT id FROM changes WHERE zone_key = ?)").run([.blob(origin.lowercased.wire)])
            try db.prepare("UPDATE changes SET kind = ? WHERE zone_key = ?").run([.int(ChangeKind.replaced.rawValue), .blob(origin.lowercased.wire)])
            try journal(zoneKey: .blob(origin.lowercased.wire), kind: .zoneRemoved)
        }
    }

    // MARK: records

    public func records(zone origin: DNSName) throws(StoreError) -> [ResourceRecord] {
        try db.readTransaction { () throws(StoreError) -> [ResourceRecord] in
            guard let id = try zoneID(origin) else { throw StoreError(.notFound, "zone \(origin) does not exist (see 'dnsctl zone list')") }
            return try records(zoneID: id)
        }
    }

    /// The records at one name of a zone (through the owner index).
    public func records(zone origin: DNSName, at name: DNSName) throws(StoreError) -> [ResourceRecord] {
        try db.readTransaction { () throws(StoreError) -> [ResourceRecord] in
            guard let id = try zoneID(origin) else { throw StoreError(.notFound, "zone \(origin) does not exist (see 'dnsctl zone list')") }
            return try records(zoneID: id, owners: [name])
        }
    }

    func records(zoneID id: Int64) throws(StoreError) -> [ResourceRecord] {
        var out: [ResourceRecord] = []
        try forEachRecord(zoneID: id) { out.append($0) }
        return out
    }

    /// Every record of a zone in key order (owner, type, RDATA: one name's records together), handed over one
    /// at a time (a load of a million records builds the zone without an array of them first).
    func forEachRecord(zoneID id: Int64, _ body: (ResourceRecord) -> Void) throws(StoreError) {
        let s = try db.prepare("SELECT \(RecordRow.columns) FROM records WHERE zone_id = ?")
        try s.bind([.int(id)])
        while try s.step() { body(try record(from: s)) }
    }

    /// The records at some owner names of a zone, through the owner index: what an edit of those names reads.
    func records(zoneID id: Int64, owners: [DNSName]) throws(StoreError) -> [ResourceRecord] {
        let s = try db.prepare("SELECT \(RecordRow.columns) FROM records WHERE zone_id = ? AND owner_key = ?")
        var out: [ResourceRecord] = []
        for o in owners {
            try s.bind([.int(id), .blob(o.lowercased.wire)])
            while try s.step() { out.append(try record(from: s)) }
        }
        return out
    }

    func apply(zoneID id: Int64, added: [ResourceRecord], removed: [ResourceRecord]) throws(StoreError) {
        let del = try db.prepare("DELETE FROM records WHERE zone_id = ? AND owner_key = ? AND type = ? AND rdata_key = ?")
        for r in removed {
            try del.run([.int(id), .blob(r.name.lowercased.wire), .int(Int64(r.type.rawValue)), .blob(r.rdata.wireBytes(canonical: true))])
        }
        var rows = try RowInserter(self, zoneID: id)
        try rows.insert(added)
        try applied(zoneID: id, added: added, removed: removed)
    }

    /// What every write of records ends with: the zone's change time and its journal entry.
    func applied(zoneID id: Int64, added: [ResourceRecord], removed: [ResourceRecord]) throws(StoreError) {
        try db.prepare("UPDATE zones SET updated_at = ? WHERE id = ?").run([.int(now()), .int(id)])
        try journal(zoneID: id, kind: .records, removed: removed, added: added)
    }

    /// Record rows written into one zone, in as many calls as the caller likes: `rowsPerStatement` rows per
    /// INSERT while that many are left, then one at a time. A statement run costs more than a row: a million
    /// records are written in a fifth less time. (128 rows bind 896 values, under the 999 that SQLite builds
    /// before 3.32 allow.)
    struct RowInserter {
        static let rowsPerStatement = 128
        let one: Statement, many: Statement, id: Int64
        var row = RecordRow()
        init(_ store: ZoneStore, zoneID: Int64) throws(StoreError) {
            let head = "INSERT INTO records(zone_id, owner, owner_key, type, ttl, rdata, rdata_key) VALUES "
            one = try store.db.prepare(head + "(?, ?, ?, ?, ?, ?, ?)")
            many = try store.db.prepare(head + Array(repeating: "(?, ?, ?, ?, ?, ?, ?)", count: Self.rowsPerStatement).joined(separator: ", "))
            id = zoneID
        }
        mutating func insert(_ records: [ResourceRecord]) throws(StoreError) {
            var i = 0
            while i < records.count {
                let n = records.count - i >= Self.rowsPerStatement ? Self.rowsPerStatement : 1
                try run(n == 1 ? one : many, records[i..<(i + n)])
                i += n
            }
        }

        /// One run of `s`, its rows bound from `rows` (as many as it has).
        private mutating func run(_ s: Statement, _ rows: ArraySlice<ResourceRecord>) throws(StoreError) {
            s.reset()
            for (k, r) in zip(Int32(0)..., rows) {
                try s.bind(k * 7 + 1, id)
                try row.bind(r, to: s, from: k * 7 + 2)
            }
            while try s.step() {}
        }
    }

    struct Key: Hashable {
        var owner: [UInt8], type: UInt16, rdata: [UInt8], ttl: UInt32
        init(_ r: ResourceRecord, ignoringSerial: Bool = false) {
            owner = r.name.lowercased.wire
            type = r.type.rawValue
            var rd = r.rdata
            if ignoringSerial, case .soa(var s) = rd {
                s.serial = 0
                rd = .soa(s)
            }
            rdata = rd.wireBytes(canonical: true)
            ttl = r.ttl
        }
    }

    static func diff(old: [ResourceRecord], new: [ResourceRecord], ignoringSerial: Bool) -> (added: [ResourceRecord], removed: [ResourceRecord]) {
        // One key per record and a set of the old side only: an import of a million records into a new zone
        // hashes the million once and keeps no set of them.
        let oldKeys = Set(old.map { Key($0, ignoringSerial: ignoringSerial) })
        var kept = Set<Key>(), added: [ResourceRecord] = []
        for r in new {
            let k = Key(r, ignoringSerial: ignoringSerial)
            if oldKeys.contains(k) { kept.insert(k) } else { added.append(r) }
        }
        return (added, old.filter { !kept.contains(Key($0, ignoringSerial: ignoringSerial)) })
    }

    /// The exact difference, from the one that ignored SOA serials: only SOA records can differ between the
    /// two, so the rest is kept (in order) and the SOAs alone are compared again, not every record re-keyed.
    static func withSerial(_ changed: (added: [ResourceRecord], removed: [ResourceRecord]), old: [ResourceRecord],
                           new: [ResourceRecord]) -> (added: [ResourceRecord], removed: [ResourceRecord]) {
        let soa = diff(old: old.filter { $0.type == .soa }, new: new.filter { $0.type == .soa }, ignoringSerial: false)
        // `changed` lists records of `new` and `old` in their order: a walk picks them out again, with the
        // SOA records placed where they stand.
        func pick(_ all: [ResourceRecord], _ others: [ResourceRecord], _ soas: [ResourceRecord]) -> [ResourceRecord] {
            let rest = others.filter { $0.type != .soa }
            var out: [ResourceRecord] = [], j = 0
            for r in all {
                if r.type == .soa {
                    if soas.contains(r) { out.append(r) }
                } else if j < rest.count, rest[j] == r {
                    out.append(r)
                    j += 1
                }
            }
            return out
        }
        return (pick(new, changed.added, soa.added), pick(old, changed.removed, soa.removed))
    }

    /// Applies `change` to a zone's records in one transaction: validate, bump the SOA serial, write the
    /// difference. A thrown error or a failed check leaves the store untouched.
    @discardableResult
    public func edit(zone origin: DNSName, dryRun: Bool = false, by source: String? = nil,
                     _ change: (inout [ResourceRecord]) throws(StoreError) -> Void) throws(StoreError) -> ZoneDiff {
        try db.transaction { () throws(StoreError) -> ZoneDiff in
            let id = try editableZoneID(origin)
            let old = try records(zoneID: id)
            var new = old
            try change(&new)
            let diff = try commit(zoneID: id, origin: origin, old: old, new: new, dryRun: dryRun, keepNewerSerial: true)
            if !dryRun, let source { try noteSource(zoneID: id, diff.added, source) }
            return diff
        }
    }

    /// Applies `change` to the records at `names` of a zone in one transaction, like `edit(zone:)`, but reads,
    /// checks and writes only those names (the apex always among them, for its SOA): an edit of a
    /// million-record zone costs what the names hold. The closure may add records only at those names.
    @discardableResult
    public func edit(zone origin: DNSName, names: [DNSName], dryRun: Bool = false, by source: String? = nil,
                     _ change: (inout [ResourceRecord]) throws(StoreError) -> Void) throws(StoreError) -> ZoneDiff {
        try db.transaction { () throws(StoreError) -> ZoneDiff in
            let id = try editableZoneID(origin)
            var owners = [origin]
            for n in names where !owners.contains(n) { owners.append(n) }
            let old = try records(zoneID: id, owners: owners)
            var new = old
            try change(&new)
            let allowed = Set(owners)
            if let stray = new.first(where: { !allowed.contains($0.name) }) {
                throw StoreError(.rejected, "\(stray.name) \(stray.type) is outside the names this edit changes (\(owners.map(\.description).joined(separator: ", ")))")
            }
            let diff = try commit(zoneID: id, origin: origin, old: old, new: new, dryRun: dryRun, keepNewerSerial: true, partial: allowed)
            if !dryRun, let source { try noteSource(zoneID: id, diff.added, source) }
            return diff
        }
    }

    /// The glue warnings a whole-zone check would give that a partial one cannot see: an edited name left with
    /// no address while a delegation above it, which the edit does not hold, names it as a server (RFC 1034
    /// §4.2.1). Only the name's ancestors can be that delegation: a few key lookups, not a scan of the zone.
    func orphanedGlue(zoneID id: Int64, origin: DNSName, names: Set<DNSName>, new: [ResourceRecord]) throws(StoreError) -> [ZoneProblem] {
        let addressed = Set(new.filter { $0.type == .a || $0.type == .aaaa }.map(\.name))
        let q = try db.prepare("SELECT 1 FROM records WHERE zone_id = ? AND owner_key = ? AND type = 2 AND rdata_key = ?")
        var out: [ZoneProblem] = []
        for n in names.sorted() where n != origin && n.isSubdomain(of: origin) && !addressed.contains(n) {
            let target = n.lowercased.wire  // an NS RDATA's canonical form: its name, lowercased
            var cut = n.parent
            while let c = cut, c != origin {
                if !names.contains(c) {
                    try q.bind([.int(id), .blob(c.lowercased.wire), .blob(target)])
                    if try q.step() {
                        out.append(.missingGlue(cut: c, target: n))
                    }
                }
                cut = c.parent
            }
        }
        return out
    }

    /// True when the zone holds an A or AAAA record at `name` (glue, for the checks of a partial edit).
    func hasAddress(zoneID id: Int64, _ name: DNSName) throws(StoreError) -> Bool {
        let q = try db.prepare("SELECT 1 FROM records WHERE zone_id = ? AND owner_key = ? AND type IN (1, 28) LIMIT 1")
        try q.bind([.int(id), .blob(name.lowercased.wire)])
        return try q.step()
    }

    /// Records handed over in batches (`emit`) by a producer that runs on a thread of its own: a zone file
    /// parsed while the import writes what was parsed before. A batch of `ZoneBuilder.batchSize` records loses
    /// the checks nothing; smaller ones start the writing sooner.
    public typealias RecordProducer = @Sendable (_ emit: (_ batch: [ResourceRecord]) throws(StoreError) -> Void) throws(StoreError) -> Void

    /// Replaces a zone's whole contents (creating the zone if needed). Idempotent: importing the same data
    /// twice changes nothing, serial included.
    @discardableResult
    public func importZone(_ origin: DNSName, records new: [ResourceRecord], dryRun: Bool = false) throws(StoreError) -> ZoneDiff {
        // One batch: the array itself, no copy of it.
        try importZone(origin, dryRun: dryRun) { (emit) throws(StoreError) in try emit(new) }
    }

    /// The same, with the records from `produce`. A new zone is written as the batches come, while a third
    /// thread runs the zone checks on them (a million records: parse, checks and write overlap on two cores);
    /// a zone that exists is compared with what it holds once all are in. An error from the producer, the
    /// checks or the write takes everything back.
    @discardableResult
    public func importZone(_ origin: DNSName, dryRun: Bool = false, producing produce: @escaping RecordProducer) throws(StoreError) -> ZoneDiff {
        try db.transaction { () throws(StoreError) -> ZoneDiff in
            let exists = try zoneID(origin) != nil
            let stream = ImportStream(origin: origin, produce: produce)
            defer { stream.close() }
            // An existing zone (refused at once if it is a secondary's copy) is compared with what it holds,
            // which needs every record first.
            if exists {
                let id = try editableZoneID(origin)
                let checked = try stream.outcome()
                return try replace(zoneID: id, origin: origin, new: stream.taken, dryRun: dryRun, checked: checked)
            }
            var writer: RowInserter?, zoneID: Int64 = 0, writeError: StoreError?
            if !dryRun {
                try db.exec("SAVEPOINT import_rows")
                zoneID = try insertZone(origin)
                writer = try RowInserter(self, zoneID: zoneID)
            }
            while let batch = try stream.next() {
                // A duplicate record fails the write here; the settled records are written below instead.
                do throws(StoreError) { try writer?.insert(batch) } catch {
                    writer = nil
                    writeError = error
                }
            }
            let (changed, problems) = try stream.outcome()
            let warnings = try Self.verdict(problems, zone: origin)
            let all = stream.taken, settled = Self.settled(all, changed)
            if !dryRun {
                if writer == nil || settled != nil {
                    // After some errors (a full disk) SQLite has ended the whole transaction, the savepoint with
                    // it: that error is the one to report, not the missing savepoint.
                    do throws(StoreError) { try db.exec("ROLLBACK TO import_rows") } catch { throw writeError ?? error }
                    try apply(zoneID: try insertZone(origin), added: settled ?? all, removed: [])
                } else {
                    try applied(zoneID: zoneID, added: all, removed: [])
                }
                try db.exec("RELEASE import_rows")
            }
            let dedup = settled ?? all
            var diff = ZoneDiff(zone: origin, added: dedup, serial: dedup.first { $0.type == .soa }?.rdata.soa?.serial)
            diff.warnings = warnings
            return diff
        }
    }

    /// The records as the zone holds them, through the builder (duplicates dropped, each RRset one TTL). The
    /// common case, nothing to settle, returns the caller's array itself: no copy of a million records.
    static func settle(_ records: [ResourceRecord], in b: inout ZoneBuilder) -> [ResourceRecord] {
        var changed: [Int: ResourceRecord?] = [:]
        b.add(contentsOf: records) { i, kept in changed[i] = kept }
        return settled(records, changed) ?? records
    }

    /// `records` with the builder's changes (by index; nil: dropped) made, nil when there are none.
    static func settled(_ records: [ResourceRecord], _ changed: [Int: ResourceRecord?]) -> [ResourceRecord]? {
        if changed.isEmpty { return nil }
        var out: [ResourceRecord] = []
        out.reserveCapacity(records.count)
        for (i, r) in records.enumerated() {
            if let c = changed[i] { if let c { out.append(c) } } else { out.append(r) }
        }
        return out
    }

    /// Writes the difference between `old` and `proposed` after the zone checks, with the serial bumped.
    /// `partial`: the records are those of these names only (apex included), and only those names are checked.
    /// `exactSerial`: a secondary's write, whose SOA serial is the primary's and is kept as it is (a change of
    /// serial alone is a change).
    func commit(zoneID id: Int64, origin: DNSName, old: [ResourceRecord], new proposed: [ResourceRecord], dryRun: Bool,
                keepNewerSerial: Bool, partial: Set<DNSName>? = nil, exactSerial: Bool = false) throws(StoreError) -> ZoneDiff {
        // Duplicates dropped and TTLs settled by the builder, which then checks the result.
        var b = ZoneBuilder(origin: origin, expectedRecords: partial == nil ? proposed.count : 0)
        var new = Self.settle(proposed, in: &b)
        let changed = Self.diff(old: old, new: new, ignoringSerial: !exactSerial)
        var diff = ZoneDiff(zone: origin)
        guard !changed.added.isEmpty || !changed.removed.isEmpty else {
            diff.serial = old.first { $0.type == .soa && $0.name == origin }?.rdata.soa?.serial
            return diff
        }
        let oldSerial = old.first { $0.type == .soa && $0.name == origin }?.rdata.soa?.serial ?? 0
        diff.serial = exactSerial ? new.first { $0.type == .soa && $0.name == origin }?.rdata.soa?.serial
            : bumpSerial(&new, origin: origin, after: oldSerial, keepNewer: keepNewerSerial)
        diff.warnings = try checked(&b, zoneID: id, partial: partial, new: new)
        let final = exactSerial ? changed : Self.withSerial(changed, old: old, new: new)
        diff.added = final.added
        diff.removed = final.removed
        if !dryRun { try apply(zoneID: id, added: final.added, removed: final.removed) }
        return diff
    }

    /// Sets the apex SOA's serial in `new`: the proposed one if it moved forward from `old` (RFC 1982) and
    /// `keepNewer`, otherwise the next date-based serial. Returns the serial set.
    func bumpSerial(_ new: inout [ResourceRecord], origin: DNSName, after old: UInt32, keepNewer: Bool) -> UInt32? {
        guard let i = new.firstIndex(where: { $0.type == .soa && $0.name == origin }) else { return nil }
        new[i] = bumped(new[i], after: old, keepNewer: keepNewer)
        return new[i].rdata.soa?.serial
    }

    /// An SOA record with its serial set as `bumpSerial` sets it.
    func bumped(_ soa: ResourceRecord, after old: UInt32, keepNewer: Bool) -> ResourceRecord {
        guard case .soa(var s) = soa.rdata else { return soa }
        if !(keepNewer && Self.serialGreater(s.serial, old)) { s.serial = Self.nextSerial(after: old, now: now()) }
        var r = soa
        r.rdata = .soa(s)
        return r
    }

    /// The zone checks on what the builder holds: errors throw, warnings come back as text. `partial`: the
    /// builder holds the records `new` of these names only; glue for the rest is looked up in the store.
    func checked(_ b: inout ZoneBuilder, zoneID id: Int64, partial: Set<DNSName>?, new: [ResourceRecord] = []) throws(StoreError) -> [String] {
        var problems: [ZoneProblem]
        if let names = partial {
            var lookupError: StoreError?
            problems = b.checkPart { t in
                // A name this edit holds is wholly in the builder: the store still has its old records.
                guard !names.contains(t) else { return false }
                do throws(StoreError) { return try hasAddress(zoneID: id, t) } catch { lookupError = error; return false }
            }
            if let lookupError { throw lookupError }
            problems += try orphanedGlue(zoneID: id, origin: b.origin, names: names, new: new)
        } else {
            problems = b.checkPart { _ in false }
        }
        return try Self.verdict(problems)
    }

    /// The checks' problems as an edit takes them: any error rejects it (all of them named, after `zone`'s
    /// name when given), warnings come back as text.
    static func verdict(_ problems: [ZoneProblem], zone: DNSName? = nil) throws(StoreError) -> [String] {
        let errors = problems.filter { $0.severity == .error }
        if !errors.isEmpty {
            throw StoreError(.rejected, (zone.map { "zone \($0): " } ?? "") + errors.map(\.description).joined(separator: "; "))
        }
        return problems.filter { $0.severity == .warning }.map(\.description)
    }
}

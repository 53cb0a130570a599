import DNSWire
import DNSZone
import Testing
@testable import DNSStore

#if canImport(Glibc)
import Glibc
#endif

func tempPath(_ tag: String) -> String {
    var tmpl = Array("/tmp/jamdns-store-\(tag)-XXXXXX".utf8CString)
    let p = tmpl.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    return String(cString: p!) + "/store.sqlite"
}

/// 2026-11-21 12:00 UTC, and a clock a test can move.
final class FakeClock: @unchecked Sendable {
    var t: Int64 = 1_795_262_400
}

@Suite struct ZoneStoreTests {
    static let lab = """
        $ORIGIN jamfox.dev.
        $TTL 3600
        @ SOA rpi0 hostmaster 2026010100 3600 600 1209600 300
        @ NS rpi0
        @ A 192.168.10.80
        * A 192.168.10.80
        rpi0 A 192.168.10.53
        vs0 A 192.168.10.130
        """
    static let origin = try! DNSName("jamfox.dev.")

    func store(_ clock: FakeClock = FakeClock()) throws -> ZoneStore {
        let path = tempPath("z")
        let s = try ZoneStore(path: path, now: { clock.t })
        var p = ZoneFileParser(text: Self.lab, origin: nil)
        try s.importZone(Self.origin, records: try p.all().map(\.record))
        return s
    }

    func serial(_ s: ZoneStore) throws -> UInt32 { try s.zones().first { $0.name == Self.origin }!.serial }

    @Test func schemaPragmasAndReopen() throws {
        let path = tempPath("schema")
        _ = try ZoneStore(path: path)
        let s = try ZoneStore(path: path)  // migrations are idempotent
        #expect(try s.db.scalarInt("PRAGMA user_version") == ZoneStore.schemaVersion)
        let mode = try s.db.prepare("PRAGMA journal_mode")
        _ = try mode.step()
        #expect(mode.text(0) == "wal")
        #expect(try s.db.scalarInt("PRAGMA foreign_keys") == 1)
        #expect(try s.integrityCheck() == "ok")
    }

    @Test("a store made by the previous schema (v2) is upgraded in place, its records kept")
    func upgradeFromV2() throws {
        let s = try store()
        // Back to the v2 layout: no import ownership (v3), no fallthrough column (v4), no journal (v5).
        try s.db.exec("DROP TABLE change_records; DROP TABLE changes")
        try s.db.exec("DROP TABLE import_owned")
        try s.db.exec("ALTER TABLE zones DROP COLUMN fallthrough; ALTER TABLE zones DROP COLUMN role; DROP TABLE secondary_state; DROP TABLE record_source")
        try s.db.exec("PRAGMA user_version = 2")
        let path = s.db.path
        let reopened = try ZoneStore(path: path)
        #expect(try reopened.db.scalarInt("PRAGMA user_version") == ZoneStore.schemaVersion)
        #expect(try reopened.records(zone: Self.origin).count == 6)
        #expect(try reopened.zones().map(\.fallthroughMode) == [.off])
        _ = try reopened.syncImport(source: "hosts:/x", zone: Self.origin, records: [])
        try reopened.setFallthrough(Self.origin, .types)
        #expect(try reopened.loadCatalog(generation: 1).0.zones[Self.origin]?.fallthroughMode == .types)
    }

    @Test("syncImport adds what the source lists, removes only what it created, never claims existing records")
    func syncImportOwnership() throws {
        let s = try store()
        func a(_ n: String, _ ip: String) throws -> ResourceRecord {
            ResourceRecord(name: try DNSName(n, origin: Self.origin), type: .a, ttl: 60, rdata: .a(IPv4Address(ip)!))
        }
        var d = try s.syncImport(source: "ansible:/inv", zone: Self.origin, records: [try a("n1", "10.0.0.1"), try a("vs0", "192.168.10.130")])
        #expect(d.added.filter { $0.type == .a }.map(\.name.description) == ["n1.jamfox.dev."])
        // Another source does not see the first one's records as its own.
        d = try s.syncImport(source: "hosts:/etc/hosts", zone: Self.origin, records: [])
        #expect(d.isEmpty)
        // The source drops both: only n1 (its own) goes; vs0 was there before and stays.
        d = try s.syncImport(source: "ansible:/inv", zone: Self.origin, records: [])
        #expect(d.removed.filter { $0.type == .a }.map(\.name.description) == ["n1.jamfox.dev."])
        #expect(try s.records(zone: Self.origin).contains { $0.name.description == "vs0.jamfox.dev." })
        // A dry run writes nothing, ownership included.
        _ = try s.syncImport(source: "ansible:/inv", zone: Self.origin, records: [try a("n2", "10.0.0.2")], dryRun: true)
        #expect(try s.db.scalarInt("SELECT count(*) FROM import_owned") == 0)
        #expect(throws: StoreError.self) { try s.syncImport(source: "x", zone: try DNSName("nope."), records: []) }
    }

    @Test("an edit bumps the serial to YYYYMMDDnn, then nn+1 within the day")
    func serialBumps() throws {
        let clock = FakeClock()
        let s = try store(clock)
        #expect(try serial(s) == 2026010100)
        try s.edit(zone: Self.origin) { $0.append(ResourceRecord(name: try! DNSName("a.jamfox.dev."), type: .a, ttl: 60, rdata: .a(IPv4Address(1)))) }
        #expect(try serial(s) == 2026112100)
        let first = try serial(s)
        try s.edit(zone: Self.origin) { $0.append(ResourceRecord(name: try! DNSName("b.jamfox.dev."), type: .a, ttl: 60, rdata: .a(IPv4Address(2)))) }
        #expect(try serial(s) == first + 1)
    }

    @Test func nextSerialRules() {
        let day: Int64 = 1_795_262_400  // 2026-11-21
        #expect(ZoneStore.nextSerial(after: 1, now: day) == 2026112100)
        #expect(ZoneStore.nextSerial(after: 2026112100, now: day) == 2026112101)
        #expect(ZoneStore.nextSerial(after: 2026112199, now: day) == 2026112200)  // past nn=99: keep counting
        #expect(ZoneStore.nextSerial(after: 4_000_000_000, now: day) == 4_000_000_001)  // ahead of the date
        #expect(ZoneStore.nextSerial(after: UInt32.max, now: day) == 2026112100)  // RFC 1982: the date is ahead of 2^32-1
        #expect(ZoneStore.serialGreater(1, UInt32.max))
        #expect(!ZoneStore.serialGreater(5, 5))
    }

    @Test("a rejected edit changes nothing, serial included, and says why")
    func rejectedEditIsAtomic() throws {
        let s = try store()
        let before = try s.records(zone: Self.origin)
        let serialBefore = try serial(s)
        do {
            try s.edit(zone: Self.origin) { recs in
                recs.append(ResourceRecord(name: try! DNSName("vs0.jamfox.dev."), type: .cname, ttl: 60, rdata: .cname(try! DNSName("rpi0.jamfox.dev."))))
            }
            Issue.record("CNAME beside A was accepted")
        } catch {
            #expect(error.code == .rejected)
            #expect(error.message.contains("CNAME cannot coexist"))
        }
        #expect(try Set(s.records(zone: Self.origin)) == Set(before))
        #expect(try serial(s) == serialBefore)
    }

    @Test("an error thrown half-way through an edit rolls back everything")
    func throwingEditRollsBack() throws {
        let s = try store()
        let before = try s.records(zone: Self.origin)
        #expect(throws: StoreError.self) {
            try s.edit(zone: Self.origin) { (recs: inout [ResourceRecord]) throws(StoreError) in
                recs.removeAll { $0.type == .a }
                throw StoreError(.rejected, "stop")
            }
        }
        #expect(try Set(s.records(zone: Self.origin)) == Set(before))
    }

    @Test("import is idempotent; dry run writes nothing")
    func importIdempotent() throws {
        let s = try store()
        var p = ZoneFileParser(text: Self.lab, origin: nil)
        let recs = try p.all().map(\.record)
        let again = try s.importZone(Self.origin, records: recs)
        #expect(again.isEmpty)
        var changed = recs
        changed.append(ResourceRecord(name: try DNSName("new.jamfox.dev."), type: .a, ttl: 60, rdata: .a(IPv4Address(9))))
        let dry = try s.importZone(Self.origin, records: changed, dryRun: true)
        #expect(dry.added.contains { $0.name.description == "new.jamfox.dev." })
        #expect(try s.records(zone: Self.origin).count == recs.count)
        let real = try s.importZone(Self.origin, records: changed)
        #expect(real.added.count == 2)  // the record and the bumped SOA
        #expect(try s.records(zone: Self.origin).count == recs.count + 1)
    }

    @Test("a new zone's import (checked on a second thread while the rows are written): duplicates and mixed TTLs are stored settled, a rejected zone leaves no zone and no row, a dry run writes nothing")
    func newZoneImportChecks() throws {
        let s = try ZoneStore(path: tempPath("new"))
        var p = ZoneFileParser(text: Self.lab + "\nvs0 A 192.168.10.130\nvs0 60 A 192.168.10.131\n", origin: nil)
        let recs = try p.all().map(\.record)
        let diff = try s.importZone(Self.origin, records: recs)
        let stored = try s.records(zone: Self.origin)
        #expect(stored.count == recs.count - 1, "the duplicate vs0 record is stored once")
        #expect(Set(stored.filter { $0.name.description == "vs0.jamfox.dev." }.map(\.ttl)) == [3600], "one TTL for the RRset")
        #expect(Set(diff.added) == Set(stored))
        // An error (a CNAME beside other data) found by the check: the rows written meanwhile are taken back.
        let other = try DNSName("other.test.")
        var bad = ZoneFileParser(text: "$ORIGIN other.test.\n@ SOA ns h 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\nns CNAME x\n", origin: nil)
        #expect(throws: StoreError.self) { try s.importZone(other, records: try bad.all().map(\.record)) }
        #expect(try s.zoneID(other) == nil)
        #expect(try s.db.scalarInt("SELECT COUNT(*) FROM records") == Int64(stored.count))
        var good = ZoneFileParser(text: "$ORIGIN other.test.\n@ SOA ns h 1 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n", origin: nil)
        let dry = try s.importZone(other, records: try good.all().map(\.record), dryRun: true)
        #expect(dry.added.count == 3)
        #expect(try s.zoneID(other) == nil)
        #expect(try s.db.scalarInt("SELECT COUNT(*) FROM records") == Int64(stored.count))
    }

    @Test("export → import into a fresh store → the same export")
    func exportReimport() throws {
        let s = try store()
        let text = ZoneFileWriter.write(try s.records(zone: Self.origin), origin: Self.origin)
        let t = try ZoneStore(path: tempPath("re"))
        var p = ZoneFileParser(text: text, origin: nil)
        try t.importZone(Self.origin, records: try p.all().map(\.record))
        #expect(ZoneFileWriter.write(try t.records(zone: Self.origin), origin: Self.origin) == text)
    }

    @Test func zonesAddRemoveAndErrors() throws {
        let s = try store()
        let z = try DNSName("lab.example.")
        try s.addZone(z)
        #expect(try s.zones().map(\.name).contains(z))
        #expect(throws: StoreError(.exists, "")) { try s.addZone(z) }
        #expect(try s.zone(containing: try DNSName("a.b.lab.example.")) == z)
        try s.removeZone(z)
        #expect(throws: StoreError(.notFound, "")) { try s.removeZone(z) }
        #expect(throws: StoreError(.notFound, "")) { try s.records(zone: z) }
    }

    @Test("loadCatalog reads a consistent snapshot while another connection writes")
    func readerDuringWrites() throws {
        let path = tempPath("rw")
        let w = try ZoneStore(path: path)
        var p = ZoneFileParser(text: Self.lab, origin: nil)
        try w.importZone(Self.origin, records: try p.all().map(\.record))
        let r = try ZoneStore(path: path)
        let v0 = try r.dataVersion()
        for i in 0..<20 {
            try w.edit(zone: Self.origin) { $0.append(ResourceRecord(name: try! DNSName("h\(i).jamfox.dev."), type: .a, ttl: 60, rdata: .a(IPv4Address(UInt32(i))))) }
            let (cat, problems) = try r.loadCatalog(generation: UInt64(i))
            #expect(problems.isEmpty)
            #expect(cat.zones[Self.origin]?.node(try DNSName("h\(i).jamfox.dev.")) != nil)
        }
        #expect(try r.dataVersion() != v0)
    }

    @Test("a store that cannot be opened says where and why")
    func unopenable() {
        do {
            _ = try ZoneStore(path: "/nonexistent-dir/x.sqlite")
            Issue.record("opened")
        } catch {
            #expect(error.message.contains("/nonexistent-dir/x.sqlite"))
        }
    }

    @Test("resolve-upstream names: add, list, remove; outside every zone is refused")
    func upstreamNames() throws {
        let s = try store()
        try s.addUpstreamName(try DNSName("docs.jamfox.dev."))
        try s.addUpstreamName(try DNSName("VPN.jamfox.dev."))
        #expect(throws: StoreError(.exists, "")) { try s.addUpstreamName(try DNSName("docs.JAMFOX.dev.")) }
        #expect(throws: StoreError(.rejected, "")) { try s.addUpstreamName(try DNSName("example.com.")) }
        #expect(try s.upstreamNames().map(\.description) == ["docs.jamfox.dev.", "VPN.jamfox.dev."])
        let (cat, _) = try s.loadCatalog(generation: 1)
        #expect(try cat.isResolvedUpstream(try DNSName("a.b.docs.jamfox.dev.")) && !cat.isResolvedUpstream(try DNSName("vs0.jamfox.dev.")))
        try s.removeUpstreamName(try DNSName("vpn.jamfox.dev."))
        #expect(throws: StoreError(.notFound, "")) { try s.removeUpstreamName(try DNSName("vpn.jamfox.dev.")) }
        #expect(try s.upstreamNames().count == 1)
    }

    @Test("a full load leaves no page cache behind on a connection kept open (the server's watcher)")
    func loadDropsCache() throws {
        let path = tempPath("cache")
        do {
            let w = try ZoneStore(path: path)
            var p = ZoneFileParser(text: Self.lab, origin: nil)
            var recs = try p.all().map(\.record)
            for i in 0..<5000 { recs.append(ResourceRecord(name: try DNSName("h\(i).jamfox.dev."), type: .a, ttl: 60, rdata: .a(IPv4Address(UInt32(i))))) }
            try w.importZone(Self.origin, records: recs)
        }
        let s = try ZoneStore(path: path)
        // The same read outside a load does fill the cache: the measure sees what a load would leave.
        #expect(try s.records(zone: Self.origin).count > 5000)
        #expect(s.cacheBytes > 200_000)
        s.releaseCache()
        let (cat, _) = try s.loadCatalog(generation: 1)
        #expect(cat.zones[Self.origin]?.recordCount ?? 0 > 5000)
        #expect(s.cacheBytes < 50_000)
    }

    @Test("a version-1 store is migrated to the current version in place")
    func migratesV1() throws {
        let path = tempPath("v1")
        do {
            let s = try ZoneStore(path: path)
            try s.db.exec("DROP TABLE change_records; DROP TABLE changes; DROP TABLE upstream_names; DROP TABLE import_owned; ALTER TABLE zones DROP COLUMN fallthrough; ALTER TABLE zones DROP COLUMN role; DROP TABLE secondary_state; DROP TABLE record_source; PRAGMA user_version = 1")
        }
        let s = try ZoneStore(path: path)
        #expect(try s.db.scalarInt("PRAGMA user_version") == ZoneStore.schemaVersion)
        #expect(try s.upstreamNames().isEmpty)
    }
}

import DNSWire
import DNSZone
import Synchronization
import Testing
@testable import DNSStore

/// `importZone(_:producing:)`: records handed over in batches from the producer's thread are written as
/// they come and checked on a thread of their own; the outcome is the one-array import's, and a failure
/// anywhere leaves the store as it was.
@Suite struct ImportStreamTests {
    static let origin = try! DNSName("batch.test.")

    /// A zone of `hosts` A records after SOA, NS and glue, with a duplicate and a differing TTL placed late.
    static func records(hosts: Int) throws -> [ResourceRecord] {
        var p = ZoneFileParser(text: "$ORIGIN batch.test.\n$TTL 300\n@ SOA ns h 7 3600 600 86400 60\n@ NS ns\nns A 192.0.2.1\n", origin: nil)
        var out = try p.all().map(\.record)
        for i in 0..<hosts {
            out.append(ResourceRecord(name: try DNSName("h\(i).batch.test."), type: .a, ttl: 300, rdata: .a(IPv4Address(UInt32(0x0A00_0000 + i)))))
        }
        // Late in the list, so in a later batch than the records they settle against.
        out.append(out[5])  // h2 again: a duplicate, stored once
        out.append(ResourceRecord(name: try DNSName("h3.batch.test."), type: .a, ttl: 60, rdata: .a(IPv4Address(0x0B00_0000))))  // joins h3's RRset at 300
        return out
    }

    /// A producer handing `records` over in batches of `size`.
    static func batches(_ records: [ResourceRecord], of size: Int) -> ZoneStore.RecordProducer {
        { (emit) throws(StoreError) in
            for from in stride(from: 0, to: records.count, by: size) { try emit(Array(records[from..<min(records.count, from + size)])) }
        }
    }

    @Test("a zone handed over in many batches (more than the queue holds) is stored and reported as the one array is, duplicates and TTLs settled across batches",
          arguments: [1, 7, 100])
    func batchesAsOneArray(size: Int) throws {
        let recs = try Self.records(hosts: 200)
        let whole = try ZoneStore(path: tempPath("whole"))
        let want = try whole.importZone(Self.origin, records: recs)
        let parted = try ZoneStore(path: tempPath("parted"))
        let got = try parted.importZone(Self.origin, producing: Self.batches(recs, of: size))
        #expect(got == want && got.added.count == recs.count - 1 && got.warnings.count == 1, "\(got.warnings)")
        let stored = try parted.records(zone: Self.origin)
        #expect(Set(stored) == Set(try whole.records(zone: Self.origin)))
        #expect(stored.filter { $0.name.description == "h3.batch.test." }.map(\.ttl) == [300, 300])
        #expect(try parted.integrityCheck() == "ok")
        // A zone that exists already goes through the comparison with what it holds: nothing changed.
        #expect(try parted.importZone(Self.origin, producing: Self.batches(recs, of: size)).isEmpty)
    }

    @Test("a duplicate among the rows of one multi-row INSERT fails that statement; the records are written again settled, each once")
    func duplicateInsideOneStatement() throws {
        var recs = try Self.records(hosts: 3 * ZoneStore.RowInserter.rowsPerStatement)
        recs.insert(recs[10], at: 40)  // both inside the first statement's rows
        let s = try ZoneStore(path: tempPath("dup-statement"))
        let diff = try s.importZone(Self.origin, records: recs)
        let stored = try s.records(zone: Self.origin)
        // As given, but for the record that joined h3's RRset with its own TTL.
        let expected = Set(recs.map { r in r.ttl == 60 ? ResourceRecord(name: r.name, type: r.type, ttl: 300, rdata: r.rdata) : r })
        #expect(stored.count == recs.count - 2 && Set(stored) == expected && diff.added.count == stored.count)
        #expect(try s.integrityCheck() == "ok")
    }

    @Test("a producer that fails after several batches were written: its error, and no zone, no row, no journal entry")
    func producerFailureTakesAllBack() throws {
        let s = try ZoneStore(path: tempPath("fail"))
        let before = try s.lastChangeID()
        let recs = try Self.records(hosts: 50)
        let e = #expect(throws: StoreError.self) {
            try s.importZone(Self.origin) { (emit) throws(StoreError) in
                for from in stride(from: 0, to: 40, by: 5) { try emit(Array(recs[from..<from + 5])) }
                throw StoreError(.rejected, "zone.file:41: something is wrong")
            }
        }
        #expect(e?.message == "zone.file:41: something is wrong")
        #expect(try s.zoneID(Self.origin) == nil)
        #expect(try s.db.scalarInt("SELECT COUNT(*) FROM records") == 0)
        #expect(try s.lastChangeID() == before)
        // The store still works: the same records, all of them, go in.
        #expect(try s.importZone(Self.origin, producing: Self.batches(recs, of: 5)).added.count == recs.count - 1)
    }

    @Test("a zone the checks reject, found only after the last batch: nothing written; a dry run writes nothing")
    func checksAfterTheLastBatch() throws {
        let s = try ZoneStore(path: tempPath("checks"))
        var recs = try Self.records(hosts: 30)
        recs.append(ResourceRecord(name: try DNSName("h1.batch.test."), type: .cname, ttl: 300, rdata: .cname(try DNSName("ns.batch.test."))))
        #expect(throws: StoreError.self) { try s.importZone(Self.origin, producing: Self.batches(recs, of: 4)) }
        #expect(try s.zoneID(Self.origin) == nil)
        #expect(try s.db.scalarInt("SELECT COUNT(*) FROM records") == 0)
        let dry = try s.importZone(Self.origin, dryRun: true, producing: Self.batches(try Self.records(hosts: 30), of: 4))
        #expect(dry.added.count == 30 + 3 + 1)
        #expect(try s.zoneID(Self.origin) == nil)
    }

    @Test("a re-import the checks reject leaves the zone as it was")
    func reimportRejected() throws {
        let s = try ZoneStore(path: tempPath("reimport"))
        let recs = try Self.records(hosts: 20)
        try s.importZone(Self.origin, producing: Self.batches(recs, of: 3))
        let before = try s.records(zone: Self.origin)
        var bad = recs
        bad.append(ResourceRecord(name: try DNSName("h1.batch.test."), type: .cname, ttl: 300, rdata: .cname(try DNSName("ns.batch.test."))))
        bad.append(ResourceRecord(name: try DNSName("new.batch.test."), type: .a, ttl: 300, rdata: .a(IPv4Address(1))))
        let e = #expect(throws: StoreError.self) { try s.importZone(Self.origin, producing: Self.batches(bad, of: 3)) }
        #expect(e?.message.contains("CNAME") == true, "\(String(describing: e))")
        #expect(Set(try s.records(zone: Self.origin)) == Set(before))
    }

    final class Emitted: Sendable { let count = Atomic<Int>(0) }

    @Test("an import refused before the records are read through (a secondary's copy) stops the producer, which was blocked on the full queue")
    func refusalStopsProducer() throws {
        let s = try ZoneStore(path: tempPath("refused"))
        try s.storeTransfer(zone: Self.origin, records: try Self.records(hosts: 3).dropLast(2).map { $0 })
        let recs = try Self.records(hosts: 200), emitted = Emitted()
        let e = #expect(throws: StoreError.self) {
            try s.importZone(Self.origin) { (emit) throws(StoreError) in
                for r in recs {
                    try emit([r])
                    emitted.count.add(1, ordering: .relaxed)
                }
            }
        }
        #expect(e?.message.contains("is a secondary") == true)
        // The writer's queue holds 4: the producer got a few batches out, then waited until the import stopped it.
        #expect(emitted.count.load(ordering: .relaxed) < 10)
    }
}

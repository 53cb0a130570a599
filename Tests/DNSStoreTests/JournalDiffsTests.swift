import DNSWire
import DNSZone
import Testing
@testable import DNSStore

/// IXFR's view of the journal: the chain of serial differences from a client's serial to the served one, and
/// every way the chain can fail to reach (then the zone goes whole).
@Suite struct JournalDiffsTests {
    static let origin = ZoneStoreTests.origin
    let h = try! DNSName("h.jamfox.dev.")

    func a(_ v: UInt32) -> ResourceRecord { ResourceRecord(name: h, type: .a, ttl: 60, rdata: .a(IPv4Address(v))) }

    /// A store with the lab zone and three edits of one name; the serials along the way.
    func store() throws -> (ZoneStore, [UInt32]) {
        let s = try ZoneStore(path: tempPath("ixfr"), now: { 1_795_262_400 })
        var p = ZoneFileParser(text: ZoneStoreTests.lab, origin: nil)
        try s.importZone(Self.origin, records: try p.all().map(\.record))
        var serials = [try serial(s)]
        for v: UInt32 in [1, 2, 3] {
            try s.edit(zone: Self.origin, names: [h]) { recs in
                recs.removeAll { $0.name == h }
                recs.append(a(v))
            }
            serials.append(try serial(s))
        }
        return (s, serials)
    }

    func serial(_ s: ZoneStore) throws -> UInt32 {
        try s.records(zone: Self.origin).first { $0.type == .soa }!.rdata.soa!.serial
    }

    @Test("from any serial of the chain to the newest: one difference per edit, oldest first, SOAs apart from the records")
    func chain() throws {
        let (s, serials) = try store()
        let all = try #require(try s.journalDiffs(zone: Self.origin, from: serials[0], to: serials[3], maxRecords: 100))
        #expect(all.map(\.oldSOA.rdata.soa!.serial) == Array(serials[0..<3]))
        #expect(all.map(\.newSOA.rdata.soa!.serial) == Array(serials[1...3]))
        #expect(all[0].removed.isEmpty && all[0].added == [a(1)])
        #expect(all[2].removed == [a(2)] && all[2].added == [a(3)])
        let last = try #require(try s.journalDiffs(zone: Self.origin, from: serials[2], to: serials[3], maxRecords: 100))
        #expect(last.count == 1 && last[0].added == [a(3)])
        #expect(try s.journalDiffs(zone: Self.origin, from: serials[3], to: serials[3], maxRecords: 100) == [])
    }

    @Test("a server behind the store gets the chain up to the serial it serves, not past it")
    func upToTheServedSerial() throws {
        let (s, serials) = try store()
        let d = try #require(try s.journalDiffs(zone: Self.origin, from: serials[0], to: serials[2], maxRecords: 100))
        #expect(d.count == 2 && d.last?.newSOA.rdata.soa?.serial == serials[2])
    }

    @Test("no chain: a serial the journal never had, more rows than the bound, a zone re-created since")
    func doesNotReach() throws {
        let (s, serials) = try store()
        #expect(try s.journalDiffs(zone: Self.origin, from: 12345, to: serials[3], maxRecords: 100) == nil)
        #expect(try s.journalDiffs(zone: Self.origin, from: serials[0], to: 999, maxRecords: 100) == nil)
        // Three edits of 4 rows each (the SOA pair and one record or two): a bound of 5 rows stops it.
        #expect(try s.journalDiffs(zone: Self.origin, from: serials[0], to: serials[3], maxRecords: 5) == nil)
        try s.removeZone(Self.origin)
        var p = ZoneFileParser(text: ZoneStoreTests.lab.replacing("2026010100", with: "2026010200"), origin: nil)
        try s.importZone(Self.origin, records: try p.all().map(\.record))
        try s.edit(zone: Self.origin, names: [h]) { $0.append(a(9)) }
        // The chain back from the re-created zone's serial runs into its creation, which has no old serial.
        #expect(try s.journalDiffs(zone: Self.origin, from: serials[0], to: try serial(s), maxRecords: 100) == nil)
    }
}

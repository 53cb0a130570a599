import DNSWire
import DNSZone
import Testing
import TestSupport
@testable import DNSStore

/// A re-import walks the stored rows beside the new records in key order (ZoneStore+Replace). It must find
/// exactly what the whole-zone edit finds by comparing two arrays: the same records added and removed, the
/// same serial, the same warnings, the same rows left.
@Suite struct ZoneStoreReplaceTests {
    static let origin = try! DNSName("rep.test.")
    static let names = ["a", "B", "c.d", "C.D", "e.f.g", "x1", "X1", "mx", "deep.er.name", "h", "H", "i.j"]

    /// A random zone: apex SOA and NS, then records at names that differ in case now and then, with RRsets
    /// of several RDATAs, TTLs that disagree within an RRset, and names inside RDATA in either case.
    static func zone(_ rng: inout SeededRandom, serial: UInt32) -> [ResourceRecord] {
        func rr(_ n: String, _ ttl: UInt32, _ rd: RData) -> ResourceRecord {
            ResourceRecord(name: try! DNSName(n, origin: origin), type: rd.type, ttl: ttl, rdata: rd)
        }
        let mname = rng.next(below: 4) == 0 ? "NS.rep.test." : "ns.rep.test."
        var out = [rr("@", 300, .soa(SOA(mname: try! DNSName(mname), rname: try! DNSName("h.rep.test."), serial: serial,
                                         refresh: 3600, retry: 600, expire: 86400, minimum: 60))),
                   rr("@", 300, .ns(try! DNSName("ns.rep.test."))), rr("ns", 300, .a(IPv4Address("192.0.2.1")!))]
        for _ in 0..<rng.next(below: 40) {
            let n = names[rng.next(below: names.count)], ttl: UInt32 = rng.next(below: 3) == 0 ? 60 : 300
            switch rng.next(below: 4) {
            case 0: out.append(rr(n, ttl, .a(IPv4Address("10.0.0.\(rng.next(below: 4))")!)))
            case 1: out.append(rr(n, ttl, .aaaa(IPv6Address("2001:db8::\(rng.next(below: 3))")!)))
            case 2: out.append(rr(n, ttl, .txt(TXT([Array("t\(rng.next(below: 3))".utf8)]))))
            default: out.append(rr(n, ttl, .mx(MX(preference: 10, exchange: try! DNSName(rng.next(below: 2) == 0 ? "Mail.rep.test." : "mail.rep.test.")))))
            }
        }
        return out
    }

    /// Records as text, case kept (a name's description is as written), in one order.
    static func text(_ rs: [ResourceRecord]) -> [String] { rs.map { "\($0.name) \($0.ttl) \($0.type) \($0.rdata.presentation)" }.sorted() }

    @Test("a re-import finds what a whole-zone edit finds, over random zones and changes")
    func agreesWithWholeZoneEdit() throws {
        var rng = SeededRandom(default: 0x5EED_0011)
        var compared = 0, changed = 0
        for round in 0..<80 {
            let old = Self.zone(&rng, serial: 5)
            // The next version: a fresh zone half the time, else the old one with some records dropped, some
            // added, some re-cased, and the serial kept, raised or lowered.
            var new: [ResourceRecord]
            if rng.next(below: 2) == 0 {
                new = Self.zone(&rng, serial: [5, 6, 4][rng.next(below: 3)])
            } else {
                new = old.filter { $0.type == .soa || rng.next(below: 5) != 0 }
                new += Self.zone(&rng, serial: 5).dropFirst(3).prefix(rng.next(below: 4))
                for i in new.indices where new[i].type != .soa && rng.next(below: 6) == 0 {
                    new[i].name = try DNSName(new[i].name.description.uppercased())
                }
            }
            let clock = FakeClock()
            let a = try ZoneStore(path: tempPath("replace-a"), now: { clock.t }), b = try ZoneStore(path: tempPath("replace-b"), now: { clock.t })
            try a.importZone(Self.origin, records: old)
            try b.importZone(Self.origin, records: old)
            let viaReplace: Result<ZoneDiff, StoreError> = Result { () throws(StoreError) in try a.importZone(Self.origin, records: new) }
            let viaEdit: Result<ZoneDiff, StoreError> = Result { () throws(StoreError) in try b.edit(zone: Self.origin) { $0 = new } }
            switch (viaReplace, viaEdit) {
            case (.success(let d1), .success(let d2)):
                #expect(Self.text(d1.added) == Self.text(d2.added), "round \(round), seed \(rng.seed)")
                #expect(Self.text(d1.removed) == Self.text(d2.removed), "round \(round), seed \(rng.seed)")
                #expect(d1.serial == d2.serial, "round \(round)")
                #expect(d1.warnings.sorted() == d2.warnings.sorted(), "round \(round)")
                if !d1.isEmpty { changed += 1 }
            case (.failure(let e1), .failure(let e2)):
                #expect(e1.code == e2.code, "round \(round): \(e1) / \(e2)")
            default:
                Issue.record("round \(round), seed \(rng.seed): the re-import gave \(viaReplace), the edit \(viaEdit)")
            }
            #expect(Self.text(try a.records(zone: Self.origin)) == Self.text(try b.records(zone: Self.origin)), "round \(round)")
            compared += 1
        }
        #expect(compared == 80)
        #expect(changed > 40, "too few rounds changed anything for the comparison to mean much: \(changed)")
    }

    @Test("a re-import keeps what is unchanged: the same file again, a TTL change, a change of case alone")
    func keepsWhatIsUnchanged() throws {
        let s = try ZoneStore(path: tempPath("replace-keep"), now: { FakeClock().t })
        var rng = SeededRandom(default: 7)
        let old = Self.zone(&rng, serial: 5)
        try s.importZone(Self.origin, records: old)
        #expect(try s.importZone(Self.origin, records: old).isEmpty)
        // Upper case alone: the zone compares names without case, so nothing changes and the stored case stays.
        let shouted = try old.map { r -> ResourceRecord in var r = r; if r.type != .soa { r.name = try DNSName(r.name.description.uppercased()) }; return r }
        #expect(try s.importZone(Self.origin, records: shouted).isEmpty)
        #expect(Self.text(try s.records(zone: Self.origin)) == Self.text(old))
        // A TTL change is a removal and an addition of the RRset's records, and a new serial.
        let ns = try #require(old.firstIndex { $0.name.description == "ns.rep.test." })
        var longer = old
        longer[ns].ttl = 900
        let d = try s.importZone(Self.origin, records: longer)
        #expect(d.removed.map(\.ttl).sorted() == [300, 300] && d.added.map(\.ttl).sorted() == [300, 900])
        #expect(d.serial != 5 && d.removed.contains { $0.type == .soa } && d.added.contains { $0.type == .soa })
    }
}

import DNSWire
import DNSZone
import Testing
@testable import DNSStore

/// RFC 2136 UPDATEs as the store applies them: through dnsctl's partial edit, each all or nothing, a batch in
/// one transaction, who changed what kept, and imports that leave an UPDATE's records alone.
@Suite struct ZoneStoreUpdateTests {
    static let origin = ZoneStoreTests.origin

    func a(_ name: String, _ v: UInt32, ttl: UInt32 = 60, rrclass: RRClass = .in) -> ResourceRecord {
        var r = ResourceRecord(name: try! DNSName(name), type: .a, ttl: ttl, rdata: .a(IPv4Address(v)))
        r.rrclass = rrclass
        return r
    }

    func prereq(_ name: String, _ type: RRType, _ rrclass: RRClass) -> ResourceRecord {
        var r = ResourceRecord(name: try! DNSName(name), type: type, ttl: 0, rdata: .unknown(type, []))
        r.rrclass = rrclass
        return r
    }

    func edit(_ updates: [ResourceRecord], prerequisites: [ResourceRecord] = [], source: String = "key kea.",
              cap: Int = .max, permits: @escaping @Sendable (DNSName, RRType) -> Bool = { _, _ in true }) -> UpdateEdit {
        UpdateEdit(request: Update.Request(zone: Self.origin, prerequisites: prerequisites, updates: updates), source: source,
                   maxZoneRecords: cap, permits: permits)
    }

    func serial(_ s: ZoneStore) throws -> UInt32 { try s.zones().first { $0.name == Self.origin }!.serial }

    @Test("an UPDATE adds through the partial edit: one serial step, one journal entry, its source kept; a failed prerequisite changes nothing")
    func appliesAndRefuses() throws {
        let s = try ZoneStoreTests().store()
        let before = try serial(s), changes = try s.lastChangeID()
        let r = try s.update([edit([a("h1.dhcp.jamfox.dev.", 0x0A000001)])])
        guard case .applied(let d) = r[0] else { Issue.record("\(r)"); return }
        #expect(d.added.contains(a("h1.dhcp.jamfox.dev.", 0x0A000001)))
        #expect(try ZoneStore.serialGreater(serial(s), before) && s.lastChangeID() == changes + 1)
        let src = try s.sources(zone: Self.origin, at: try DNSName("h1.dhcp.jamfox.dev."))
        #expect(src.count == 1 && src[0].source == "key kea.")
        // The name is in use now: "not in use" fails with YXDOMAIN, nothing applied, the serial kept.
        let after = try serial(s)
        let refused = try s.update([edit([a("h2.dhcp.jamfox.dev.", 2)], prerequisites: [prereq("h1.dhcp.jamfox.dev.", .any, .none)])])
        #expect(refused == [.refused(Update.Refusal(.yxDomain, "h1.dhcp.jamfox.dev. is in use"))])
        #expect(try serial(s) == after && s.records(zone: Self.origin, at: DNSName("h2.dhcp.jamfox.dev.")).isEmpty)
        // An update that changes nothing is NOERROR and moves nothing.
        let same = try s.update([edit([a("h1.dhcp.jamfox.dev.", 0x0A000001)])])
        guard case .applied(let none) = same[0] else { Issue.record("\(same)"); return }
        let now = try serial(s)
        #expect(none.isEmpty && now == after)
    }

    @Test("a batch is one transaction, but each message is all or nothing: the one that fails leaves its neighbours applied, each with its own serial")
    func batch() throws {
        let s = try ZoneStoreTests().store()
        let start = try s.lastChangeID()
        let results = try s.update([
            edit([a("b1.jamfox.dev.", 1)]),
            edit([a("b2.jamfox.dev.", 2)], prerequisites: [prereq("nothere.jamfox.dev.", .any, .any)]),  // NXDOMAIN
            edit([a("b3.jamfox.dev.", 3)]),
        ])
        #expect(results.count == 3)
        guard case .applied(let d1) = results[0], case .refused(let r2) = results[1], case .applied(let d3) = results[2] else { Issue.record("\(results)"); return }
        #expect(r2.rcode == .nxDomain)
        #expect(d1.serial != nil && d3.serial != nil && d1.serial != d3.serial)
        #expect(try s.lastChangeID() == start + 2)
        #expect(try s.records(zone: Self.origin, at: try DNSName("b2.jamfox.dev.")).isEmpty)
        #expect(try s.records(zone: Self.origin, at: try DNSName("b3.jamfox.dev.")).count == 1)
    }

    @Test("the zone's record cap refuses an UPDATE that would pass it, undoing it whole (journal entry included)")
    func cap() throws {
        let s = try ZoneStoreTests().store()
        let n = try s.records(zone: Self.origin).count
        let start = try s.lastChangeID()
        let r = try s.update([edit([a("c1.jamfox.dev.", 1)], cap: n + 1), edit([a("c2.jamfox.dev.", 2)], cap: n + 1)]) { _ in n }
        guard case .applied = r[0], case .refused(let why) = r[1] else { Issue.record("\(r)"); return }
        #expect(why.rcode == .refused && why.reason.contains("max_zone_records"))
        #expect(try s.lastChangeID() == start + 1 && s.records(zone: Self.origin, at: DNSName("c2.jamfox.dev.")).isEmpty)
    }

    @Test("deleting every RRset of a name needs the key's leave for each type the name holds")
    func deleteAllChecksTypes() throws {
        let s = try ZoneStoreTests().store()
        // vs0 holds an A record; the key may touch TXT only.
        let r = try s.update([edit([prereq("vs0.jamfox.dev.", .any, .any)], permits: { _, t in t == .txt })])
        guard case .refused(let why) = r[0] else { Issue.record("\(r)"); return }
        #expect(why.rcode == .refused && why.reason.contains("A records"))
        #expect(try s.records(zone: Self.origin, at: try DNSName("vs0.jamfox.dev.")).count == 1)
        let ok = try s.update([edit([prereq("vs0.jamfox.dev.", .any, .any)], permits: { _, t in t == .a })])
        guard case .applied = ok[0] else { Issue.record("\(ok)"); return }
        #expect(try s.records(zone: Self.origin, at: try DNSName("vs0.jamfox.dev.")).isEmpty)
    }

    @Test("an import never removes a record an UPDATE made, even at a name the import manages; a removed record takes its source with it")
    func importsKeepUpdates() throws {
        let s = try ZoneStoreTests().store()
        let host = "node1.jamfox.dev."
        _ = try s.syncImport(source: "ansible:/inv", zone: Self.origin, records: [a(host, 0x0A000001, ttl: 3600)])
        _ = try s.update([edit([a(host, 0x0A000002, ttl: 3600)], source: "key terraform.")])
        // The inventory forgets the node: its own record goes, the UPDATE's stays.
        _ = try s.syncImport(source: "ansible:/inv", zone: Self.origin, records: [])
        let left = try s.sources(zone: Self.origin, at: try DNSName(host))
        #expect(left.count == 1 && left[0].0.rdata == .a(IPv4Address(0x0A000002)) && left[0].source == "key terraform.")
        // Deleted by UPDATE: the record and its source row are gone together (a re-add is a new record).
        var del = a(host, 0x0A000002, ttl: 0, rrclass: .none)
        del.ttl = 0
        _ = try s.update([edit([del])])
        #expect(try s.sources(zone: Self.origin).isEmpty == false)  // the SOA's own
        #expect(try s.sources(zone: Self.origin).keys.contains { $0.owner == (try! DNSName(host)).lowercased.wire } == false)
        #expect(try s.integrityCheck() == "ok")
    }
}

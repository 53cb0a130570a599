import DNSWire
import DNSZone
import Testing
@testable import DNSStore

/// The journal (one entry per commit, in the commit's transaction) and the edit that reads and checks only the
/// names it changes.
@Suite struct JournalTests {
    static let origin = ZoneStoreTests.origin

    func store() throws -> ZoneStore {
        let s = try ZoneStore(path: tempPath("journal"), now: { 1_795_262_400 })
        var p = ZoneFileParser(text: ZoneStoreTests.lab, origin: nil)
        try s.importZone(Self.origin, records: try p.all().map(\.record))
        return s
    }

    func a(_ name: String, _ v: UInt32, ttl: UInt32 = 60) -> ResourceRecord {
        ResourceRecord(name: try! DNSName(name), type: .a, ttl: ttl, rdata: .a(IPv4Address(v)))
    }

    @Test("an edit of one name journals exactly its difference, the SOA change included, and the entries replay in order")
    func editJournalsItsDifference() throws {
        let s = try store()
        let start = try s.lastChangeID()
        let h = try DNSName("h.jamfox.dev.")
        try s.edit(zone: Self.origin, names: [h]) { $0.append(a("h.jamfox.dev.", 1)) }
        try s.edit(zone: Self.origin, names: [h]) { recs in
            recs.removeAll { $0.name == h }
            recs.append(a("h.jamfox.dev.", 2, ttl: 30))
        }
        let changes = try #require(try s.changes(after: start))
        #expect(changes.map(\.kind) == [.records, .records])
        #expect(changes.map(\.zone) == [Self.origin, Self.origin])
        #expect(changes[1].id == changes[0].id + 1)
        let first = changes[0]
        #expect(first.added.filter { $0.type != .soa } == [a("h.jamfox.dev.", 1)])
        #expect(first.removed.filter { $0.type != .soa }.isEmpty)
        #expect(first.removed.first { $0.type == .soa }?.rdata.soa?.serial == 2026010100)
        #expect(first.added.first { $0.type == .soa }?.rdata.soa?.serial == 2026112100)
        #expect(changes[1].removed.filter { $0.type != .soa } == [a("h.jamfox.dev.", 1)])
        #expect(changes[1].added.filter { $0.type != .soa } == [a("h.jamfox.dev.", 2, ttl: 30)])
        #expect(try s.changes(after: changes[1].id)?.isEmpty == true)
    }

    @Test("an edit of some names checks them against the rest of the zone: CNAME beside data, a stray name, glue")
    func partialEditChecks() throws {
        let s = try store()
        let vs0 = try DNSName("vs0.jamfox.dev.")
        let before = try s.lastChangeID()
        #expect(throws: StoreError(.rejected, "")) {
            try s.edit(zone: Self.origin, names: [vs0]) { $0.append(ResourceRecord(name: vs0, type: .cname, ttl: 60, rdata: .cname(try! DNSName("rpi0.jamfox.dev.")))) }
        }
        #expect(throws: StoreError(.rejected, "")) {
            try s.edit(zone: Self.origin, names: [vs0]) { $0.append(a("other.jamfox.dev.", 1)) }
        }
        #expect(throws: StoreError(.rejected, "")) {
            try s.edit(zone: Self.origin, names: [Self.origin]) { $0.removeAll { $0.type == .ns } }
        }
        #expect(try s.lastChangeID() == before)  // nothing was written, not even a journal entry
        // NS at a new cut with its glue already in the zone: no warning; without glue: the warning.
        let sub = try DNSName("sub.jamfox.dev.")
        try s.edit(zone: Self.origin, names: [try DNSName("ns.sub.jamfox.dev.")]) { $0.append(a("ns.sub.jamfox.dev.", 7)) }
        let glued = try s.edit(zone: Self.origin, names: [sub]) { $0.append(ResourceRecord(name: sub, type: .ns, ttl: 60, rdata: .ns(try! DNSName("ns.sub.jamfox.dev.")))) }
        #expect(glued.warnings.isEmpty)
        let bare = try s.edit(zone: Self.origin, names: [sub]) { $0.append(ResourceRecord(name: sub, type: .ns, ttl: 60, rdata: .ns(try! DNSName("ns2.sub.jamfox.dev.")))) }
        #expect(bare.warnings.contains { $0.contains("no glue") })
    }

    @Test("a journal that no longer reaches back, or a store that went backwards, says so (the reader loads everything)")
    func gapsAreReported() throws {
        let s = try store()
        s.journalLimits.keep = 3
        let start = try s.lastChangeID()
        for i in 0..<6 { try s.edit(zone: Self.origin, names: [try DNSName("n\(i).jamfox.dev.")]) { $0.append(a("n\(i).jamfox.dev.", UInt32(i))) } }
        #expect(try s.changes(after: start) == nil)  // trimmed to the last 3
        let last = try s.lastChangeID()
        #expect(try s.changes(after: last - 3)?.count == 3)
        #expect(try s.changes(after: last + 5) == nil)  // ahead of the store: it was replaced
    }

    @Test("a change too big for the journal, a removed zone and a restore are journaled as reloads")
    func bigChangesRemovalsAndRestores() throws {
        let s = try store()
        s.journalLimits.maxRecords = 10
        let start = try s.lastChangeID()
        var p = ZoneFileParser(text: ZoneStoreTests.lab, origin: nil)
        var recs = try p.all().map(\.record)
        for i in 0..<20 { recs.append(a("bulk\(i).jamfox.dev.", UInt32(i))) }
        try s.importZone(Self.origin, records: recs)
        let big = try #require(try s.changes(after: start))
        #expect(big.map(\.kind) == [.replaced])
        #expect(big[0].added.isEmpty && big[0].removed.isEmpty)

        let backup = tempPath("journal-backup")
        try s.backup(to: backup)
        let other = try DNSName("other.test.")
        try s.addZone(other)
        let beforeRemove = try s.lastChangeID()
        try s.removeZone(other)
        let removal = try #require(try s.changes(after: beforeRemove - 1))
        #expect(removal.map(\.kind) == [.replaced, .zoneRemoved])  // the zone's own entries lost their rows
        let beforeRestore = try s.lastChangeID()
        try s.restore(from: backup)
        let restored = try #require(try s.changes(after: beforeRestore))
        #expect(restored.last?.kind == .replaced && restored.last?.zone == nil)
    }
}

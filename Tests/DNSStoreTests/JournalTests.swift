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
        // Removing the glue of a delegation the edit does not hold: the partial check warns as the whole-zone
        // check does (the delegation is found among the name's ancestors), and so does removing it in an edit
        // that holds both names (the store's old address no longer counts).
        let ns = try DNSName("ns.sub.jamfox.dev.")
        func glueWarnings(_ d: ZoneDiff) -> [String] { d.warnings.filter { $0.contains("ns.sub.jamfox.dev. is below the cut") } }
        let whole = try s.edit(zone: Self.origin, dryRun: true) { $0.removeAll { $0.name == ns } }
        #expect(glueWarnings(whole).count == 1)
        let unglued = try s.edit(zone: Self.origin, names: [ns], dryRun: true) { $0.removeAll { $0.name == ns } }
        #expect(glueWarnings(unglued) == glueWarnings(whole))
        let both = try s.edit(zone: Self.origin, names: [sub, ns], dryRun: true) { $0.removeAll { $0.name == ns } }
        #expect(glueWarnings(both) == glueWarnings(whole))
        // An address left in place, or another one added, keeps the glue: no warning.
        let kept = try s.edit(zone: Self.origin, names: [ns], dryRun: true) { $0.append(a("ns.sub.jamfox.dev.", 8)) }
        #expect(glueWarnings(kept).isEmpty)
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

    @Test("the journal keeps a zone's newest entries within its byte bound; older ones go, and a reader of them loads whole")
    func byteBound() throws {
        let s = try store()
        s.journalLimits.maxBytes = 4_000
        let start = try s.lastChangeID()
        // Each edit journals one ~1,000-byte TXT record and the SOA pair: about 1,100 bytes an entry.
        for i in 0..<8 {
            let n = try DNSName("t\(i).jamfox.dev.")
            let txt = TXT([[UInt8](repeating: UInt8(ascii: "a") + UInt8(i), count: 250)] + Array(repeating: [UInt8](repeating: 0x62, count: 250), count: 3))
            try s.edit(zone: Self.origin, names: [n]) { $0.append(ResourceRecord(name: n, type: .txt, ttl: 60, rdata: .txt(txt))) }
        }
        let key = SQLValue.blob(Self.origin.lowercased.wire)
        let q = try s.db.prepare("SELECT COUNT(*), SUM(bytes) FROM changes WHERE zone_key IS ?")
        try q.bind([key])
        _ = try q.step()
        let (entries, bytes) = (q.int(0), q.int(1))
        #expect(bytes <= 4_000 && bytes > 2_000, "\(bytes) bytes")
        #expect(entries == 3, "\(entries) entries")
        // The rows went with their entries.
        #expect(try s.db.scalarInt("SELECT COUNT(*) FROM change_records WHERE change_id NOT IN (SELECT id FROM changes)") == 0)
        #expect(try s.changes(after: start) == nil)
        let last = try s.lastChangeID()
        let kept = try #require(try s.changes(after: last - 3))
        #expect(kept.flatMap(\.added).filter { $0.type == .txt }.map(\.name.description) == ["t5.jamfox.dev.", "t6.jamfox.dev.", "t7.jamfox.dev."])
        // An entry larger than the bound on its own is journaled as a reload, with no rows: its reader loads
        // the zone whole, and the journal's last id still moves forward.
        s.journalLimits.maxBytes = 500
        let n = try DNSName("huge.jamfox.dev.")
        try s.edit(zone: Self.origin, names: [n]) { $0.append(ResourceRecord(name: n, type: .txt, ttl: 60, rdata: .txt(TXT([[UInt8](repeating: 0x63, count: 250)] + [[UInt8](repeating: 0x64, count: 250)])))) }
        let huge = try #require(try s.changes(after: last))
        #expect(huge.map(\.kind) == [.replaced] && huge[0].added.isEmpty)
        #expect(try s.lastChangeID() == last + 1)
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

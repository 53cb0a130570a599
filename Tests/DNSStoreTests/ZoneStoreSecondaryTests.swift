import DNSWire
import DNSZone
import Testing
@testable import DNSStore

/// A secondary's writes: a transfer stored exactly (the primary's serial, not ours), an IXFR applied in one
/// transaction or not at all, edits of the copy refused, a primary zone never overwritten.
@Suite struct ZoneStoreSecondaryTests {
    static let origin = ZoneStoreTests.origin

    func zoneRecords(serial: UInt32) throws -> [ResourceRecord] {
        var p = ZoneFileParser(text: ZoneStoreTests.lab.replacing("2026010100", with: "\(serial)"), origin: nil)
        return try p.all().map(\.record)
    }

    func serial(_ s: ZoneStore) throws -> UInt32 { try s.records(zone: Self.origin, at: Self.origin).first { $0.type == .soa }!.rdata.soa!.serial }

    func a(_ name: String, _ v: UInt32) -> ResourceRecord { ResourceRecord(name: try! DNSName(name), type: .a, ttl: 60, rdata: .a(IPv4Address(v))) }

    @Test("an AXFR is stored with the primary's serial, a second one with only a new serial is still a change, and the copy is a secondary's")
    func storeTransfer() throws {
        let s = try ZoneStore(path: tempPath("secondary"), now: { 1_795_262_400 })
        try s.storeTransfer(zone: Self.origin, records: try zoneRecords(serial: 7))
        #expect(try serial(s) == 7)
        #expect(try s.zoneRoles()[Self.origin] == .secondary)
        let before = try s.lastChangeID()
        try s.storeTransfer(zone: Self.origin, records: try zoneRecords(serial: 8))
        #expect(try serial(s) == 8 && s.lastChangeID() == before + 1)
        // dnsctl's edits are refused, with what to do instead.
        #expect(throws: StoreError.self) { try s.edit(zone: Self.origin, names: [try DNSName("x.jamfox.dev.")]) { $0.append(self.a("x.jamfox.dev.", 1)) } }
        do {
            try s.importZone(Self.origin, records: try zoneRecords(serial: 9))
            Issue.record("an import over a secondary's copy went through")
        } catch { #expect("\(error)".contains("is a secondary")) }
        #expect(try serial(s) == 8)
    }

    @Test("an IXFR applies its differences in one transaction; one that does not fit this copy changes nothing")
    func applyTransfer() throws {
        let s = try ZoneStore(path: tempPath("secondary-ixfr"), now: { 1_795_262_400 })
        try s.storeTransfer(zone: Self.origin, records: try zoneRecords(serial: 7))
        let soa7 = try s.records(zone: Self.origin, at: Self.origin).first { $0.type == .soa }!
        func soa(_ n: UInt32) -> ResourceRecord {
            var r = soa7
            if case .soa(var x) = r.rdata { x.serial = n; r.rdata = .soa(x) }
            return r
        }
        let h = a("h.jamfox.dev.", 1)
        try s.applyTransfer(zone: Self.origin, diffs: [
            SerialDiff(oldSOA: soa(7), removed: [], newSOA: soa(8), added: [h]),
            SerialDiff(oldSOA: soa(8), removed: [h], newSOA: soa(9), added: [a("h.jamfox.dev.", 2)]),
        ])
        #expect(try serial(s) == 9)
        #expect(try s.records(zone: Self.origin, at: h.name) == [a("h.jamfox.dev.", 2)])
        // The journal holds both steps, so this copy serves IXFR onwards.
        #expect(try s.journalDiffs(zone: Self.origin, from: 7, to: 9, maxRecords: 100)?.count == 2)
        // Removing what is not there, or starting at another serial: nothing changes (the first step included).
        #expect(throws: StoreError.self) {
            try s.applyTransfer(zone: Self.origin, diffs: [
                SerialDiff(oldSOA: soa(9), removed: [], newSOA: soa(10), added: [self.a("k.jamfox.dev.", 3)]),
                SerialDiff(oldSOA: soa(10), removed: [self.a("nothere.jamfox.dev.", 4)], newSOA: soa(11), added: []),
            ])
        }
        #expect(throws: StoreError.self) { try s.applyTransfer(zone: Self.origin, diffs: [SerialDiff(oldSOA: soa(3), removed: [], newSOA: soa(10), added: [])]) }
        #expect(try serial(s) == 9)
        #expect(try s.records(zone: Self.origin, at: try DNSName("k.jamfox.dev.")).isEmpty)
    }

    @Test("a transfer never overwrites a primary zone of the same name")
    func primaryKept() throws {
        let s = try ZoneStore(path: tempPath("secondary-primary"), now: { 1_795_262_400 })
        try s.importZone(Self.origin, records: try zoneRecords(serial: 7))
        do {
            try s.storeTransfer(zone: Self.origin, records: try zoneRecords(serial: 8))
            Issue.record("a transfer overwrote a primary zone")
        } catch { #expect("\(error)".contains("is a primary zone")) }
        #expect(try serial(s) == 7 && s.zoneRoles()[Self.origin] == .primary)
    }

    @Test("refresh state round-trips, one row per zone")
    func refreshState() throws {
        let s = try ZoneStore(path: tempPath("secondary-state"), now: { 1_795_262_400 })
        var st = SecondaryState(zone: Self.origin, primaries: "127.0.0.1:53", lastSuccess: 100, lastAttempt: 100, failures: 0, lastError: "", nextRefresh: 3700)
        try s.recordRefresh(st)
        st.failures = 2
        st.lastError = "timed out"
        try s.recordRefresh(st)
        #expect(try s.secondaryStates() == [st])
    }
}

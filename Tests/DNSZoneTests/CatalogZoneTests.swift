import DNSWire
import Testing
import TestSupport
@testable import DNSZone

/// Catalog zones (RFC 9432): what a publisher writes is what a consumer reads back, and what a consumer
/// must not use (another schema version, a member with two PTRs, a property outside its member) is left out.
@Suite struct CatalogZoneTests {
    static let origin = try! DNSName("catalog.lab.internal.")

    @Test("members and their properties round-trip; unique labels are stable and distinct")
    func roundTrip() throws {
        let members = [
            CatalogZone.Member(zone: try DNSName("jamfox.dev."), resolvedUpstream: [try DNSName("docs.jamfox.dev."), try DNSName("vpn.jamfox.dev.")], fallthroughMode: .names),
            CatalogZone.Member(zone: try DNSName("10.168.192.in-addr.arpa.")),
        ]
        let zone = try #require(CatalogZone.build(origin: Self.origin, members: members, serial: 42))
        #expect(zone.soa.serial == 42)
        let (back, problems) = CatalogZone.members(of: zone)
        #expect(problems.isEmpty)
        #expect(back == members.sorted { $0.zone < $1.zone })
        #expect(CatalogZone.uniqueLabel(try DNSName("jamfox.dev.")) == CatalogZone.uniqueLabel(try DNSName("JAMFOX.dev.")))
        #expect(CatalogZone.uniqueLabel(try DNSName("jamfox.dev.")) != CatalogZone.uniqueLabel(try DNSName("jamfox.net.")))
    }

    @Test("not used: a catalog without version 2, a member with two PTRs, an upstream name outside its member")
    func refused() throws {
        let noVersion = ZoneText.zone("""
            $ORIGIN catalog.lab.internal.
            @ 0 SOA invalid. invalid. 1 3600 600 2419200 0
            @ 0 NS invalid.
            version 0 TXT "1"
            a.zones 0 PTR jamfox.dev.
            """)
        let (none, why) = CatalogZone.members(of: noVersion)
        #expect(none.isEmpty && why.first?.contains("version") == true)
        let broken = ZoneText.zone("""
            $ORIGIN catalog.lab.internal.
            @ 0 SOA invalid. invalid. 1 3600 600 2419200 0
            @ 0 NS invalid.
            version 0 TXT "2"
            a.zones 0 PTR jamfox.dev.
            a.zones 0 PTR other.test.
            b.zones 0 PTR good.test.
            resolve-upstream.ext.b.zones 0 TXT "docs.jamfox.dev."
            resolve-upstream.ext.b.zones 0 TXT "www.good.test."
            """)
        let (ok, problems) = CatalogZone.members(of: broken)
        #expect(ok == [CatalogZone.Member(zone: try DNSName("good.test."), resolvedUpstream: [try DNSName("www.good.test.")])])
        #expect(problems.count == 1 && problems[0].contains("2 PTR"))
    }
}

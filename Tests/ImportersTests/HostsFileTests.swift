import DNSWire
import Testing
@testable import Importers

@Suite struct HostsFileTests {
    let zone = try! DNSName("jamfox.dev.")

    @Test("addresses, aliases, several addresses per name, FQDNs inside the zone; plumbing and outsiders noted")
    func parse() {
        let text = """
            127.0.0.1   localhost
            ::1         localhost ip6-localhost
            192.168.10.130  vs0 vs0-alias   # the first VM server
            192.168.10.131  vs1.jamfox.dev
            fd00::131       vs1
            192.168.10.9    printer.example.org
            not-an-ip       host
            192.168.10.140
            """
        let r = HostsFile.parse(text, file: "hosts", zone: zone, ttl: 600)
        #expect(r.records.map { "\($0.name) \($0.type) \($0.rdata.presentation)" } == [
            "vs0.jamfox.dev. A 192.168.10.130", "vs0-alias.jamfox.dev. A 192.168.10.130", "vs1.jamfox.dev. A 192.168.10.131",
            "vs1.jamfox.dev. AAAA fd00::131",
        ])
        #expect(r.records.allSatisfy { $0.ttl == 600 })
        #expect(r.notes.map(\.line) == [1, 2, 6, 7, 8])
        #expect(r.notes[2].description == "hosts:6: 192.168.10.9    printer.example.org: printer.example.org is outside zone jamfox.dev.")
        #expect(r.notes[3].reason.contains("not an IPv4 or IPv6 address"))
    }
}

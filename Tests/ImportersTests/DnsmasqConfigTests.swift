import DNSWire
import Testing
@testable import Importers

@Suite struct DnsmasqConfigTests {
    let zone = try! DNSName("jamfox.dev.")

    /// The lab's dnsmasq setup (the seeds) plus every record kind dnsmasq has.
    static let conf = """
        # /etc/dnsmasq.d/lab.conf
        no-resolv
        domain-needed
        bogus-priv
        cache-size=65536
        listen-address=127.0.0.1,192.168.10.50
        server=8.8.8.8
        server=1.1.1.1#53
        server=/consul/192.168.10.120#8600
        server=/consul/192.168.10.121#8600
        rev-server=192.168.10.0/24,127.0.0.1#8600
        server=/ext.jamfox.dev/#
        address=/jamfox.dev/192.168.10.80
        address=/ads.example.com/
        host-record=vs0,vs0.jamfox.dev,192.168.10.130,fd00::130
        cname=grafana-old,grafana.jamfox.dev
        txt-record=jamfox.dev,"v=spf1 -all"
        srv-host=_minecraft._tcp.jamfox.dev,mc.jamfox.dev,25565,0,5
        mx-host=jamfox.dev,mail.jamfox.dev,10
        addn-hosts=/etc/hosts.lab
        addn-hosts=/missing
        dhcp-range=192.168.10.100,192.168.10.199,12h
        interface=eth0
        log-queries
        """

    @Test("records, forward zones, upstreams and switches are mapped; the rest is listed with reasons")
    func mapping() throws {
        let m = DnsmasqConfig.parse(Self.conf, file: "lab.conf", zone: zone) { path in
            path == "/etc/hosts.lab" ? "192.168.10.60 nas\n" : nil
        }
        let rows = m.result.records.map { "\($0.name) \($0.ttl) \($0.type) \($0.rdata.presentation(type: $0.type))" }
        #expect(rows == [
            "jamfox.dev. 300 A 192.168.10.80", "*.jamfox.dev. 300 A 192.168.10.80",
            "vs0.jamfox.dev. 300 A 192.168.10.130", "vs0.jamfox.dev. 300 AAAA fd00::130",
            "vs0.jamfox.dev. 300 A 192.168.10.130", "vs0.jamfox.dev. 300 AAAA fd00::130",
            "grafana-old.jamfox.dev. 300 CNAME grafana.jamfox.dev.",
            "jamfox.dev. 300 TXT \"v=spf1 -all\"",
            "_minecraft._tcp.jamfox.dev. 300 SRV 0 5 25565 mc.jamfox.dev.",
            "jamfox.dev. 300 MX 10 mail.jamfox.dev.",
            "nas.jamfox.dev. 300 A 192.168.10.60",
        ], "\(rows)")
        #expect(m.resolvedUpstream == [try DNSName("ext.jamfox.dev.")])
        #expect(m.config.contains("[server]\nlisten = [\"127.0.0.1:53\", \"192.168.10.50:53\"]\n"))
        #expect(m.config.contains("[log]\nquery_log = \"-\"\n"))
        #expect(m.config.contains("upstreams = [\"8.8.8.8\", \"1.1.1.1#53\"]\ndomain_needed = true\nbogus_priv = true\ncache_size = 65536\n"))
        #expect(m.config.contains("[forward.\"consul.\"]\nservers = [\"192.168.10.120#8600\", \"192.168.10.121#8600\"]\n"))
        #expect(m.config.contains("[forward.\"10.168.192.in-addr.arpa.\"]\nservers = [\"127.0.0.1#8600\"]\n"))
        let unmapped = m.result.notes.map { "\($0.line) \($0.reason)" }
        #expect(unmapped.count == 4, "\(unmapped)")
        #expect(unmapped.contains { $0.hasPrefix("14 blocking") } && unmapped.contains { $0.hasPrefix("21 cannot read /missing") })
        #expect(unmapped.contains { $0.hasPrefix("22 DHCP") } && unmapped.contains { $0.hasPrefix("23 JamDNS binds addresses") })
    }

    @Test("local-ttl sets the records' TTL; without no-resolv the upstreams are left to the user")
    func ttlAndResolv() {
        let m = DnsmasqConfig.parse("local-ttl=60\nhost-record=a,10.0.0.1\n", file: "x", zone: zone) { _ in nil }
        #expect(m.result.records.map(\.ttl) == [60])
        #expect(m.config.contains("# dnsmasq took its upstreams from /etc/resolv.conf"))
    }

    @Test("reverse zones only for octet-aligned IPv4 prefixes; server addresses need IP[#PORT]")
    func helpers() {
        #expect(DnsmasqConfig.reverseZone("10.1.0.0/16") == "1.10.in-addr.arpa.")
        #expect(DnsmasqConfig.reverseZone("10.1.0.0/20") == nil)
        #expect(DnsmasqConfig.serverAddress("::1#5353") == "::1#5353" && DnsmasqConfig.serverAddress("1.2.3.4#0") == nil)
        #expect(DnsmasqConfig.serverAddress("eth0") == nil)
    }
}

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
        let rows = m.result.records.map { "\($0.name) \($0.ttl) \($0.type) \($0.rdata.presentation)" }
        // TTL 0 as dnsmasq's own answers (no local-ttl); PTRs for the host-record and hosts-file addresses.
        #expect(rows == [
            "jamfox.dev. 0 A 192.168.10.80", "*.jamfox.dev. 0 A 192.168.10.80",
            "vs0.jamfox.dev. 0 A 192.168.10.130", "vs0.jamfox.dev. 0 AAAA fd00::130",
            "vs0.jamfox.dev. 0 A 192.168.10.130", "vs0.jamfox.dev. 0 AAAA fd00::130",
            "grafana-old.jamfox.dev. 0 CNAME grafana.jamfox.dev.",
            "jamfox.dev. 0 TXT \"v=spf1 -all\"",
            "_minecraft._tcp.jamfox.dev. 0 SRV 0 5 25565 mc.jamfox.dev.",
            "jamfox.dev. 0 MX 10 mail.jamfox.dev.",
            "nas.jamfox.dev. 0 A 192.168.10.60",
            "130.10.168.192.in-addr.arpa. 0 PTR vs0.jamfox.dev.",
            "0.3.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. 0 PTR vs0.jamfox.dev.",
            "60.10.168.192.in-addr.arpa. 0 PTR nas.jamfox.dev.",
        ], "\(rows)")
        #expect(m.reverseZones.map(\.description) == ["10.168.192.in-addr.arpa.", "0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa."])
        #expect(m.fallthroughMode == .types, "no local=/jamfox.dev/: names and types the zone lacks go upstream, as in dnsmasq")
        #expect(m.resolvedUpstream == [try DNSName("ext.jamfox.dev.")])
        #expect(m.config.contains("[server]\nlisten = [\"127.0.0.1:53\", \"192.168.10.50:53\"]\n"))
        #expect(m.config.contains("[log]\nquery_log = \"-\"\n"))
        #expect(m.config.contains("upstreams = [\"8.8.8.8\", \"1.1.1.1#53\"]\ndomain_needed = true\nbogus_priv = true\ncache_size = 65536\n"))
        // Consul's zones get the Consul policy: never cached, never served stale.
        #expect(m.config.contains("[forward.\"consul.\"]\nservers = [\"192.168.10.120#8600\", \"192.168.10.121#8600\"]\n# Consul: its answers are live state; never cache them or serve them stale\ncache = false\nserve_stale = false\n"), "\(m.config)")
        #expect(m.config.contains("[forward.\"10.168.192.in-addr.arpa.\"]\nservers = [\"127.0.0.1#8600\"]\n# Consul: its answers are live state; never cache them or serve them stale\ncache = false\nserve_stale = false\n"))
        let unmapped = m.result.notes.map { "\($0.line) \($0.reason)" }
        #expect(unmapped.count == 4, "\(unmapped)")
        #expect(unmapped.contains { $0.hasPrefix("14 blocking") } && unmapped.contains { $0.hasPrefix("21 cannot read /missing") })
        #expect(unmapped.contains { $0.hasPrefix("22 DHCP") } && unmapped.contains { $0.hasPrefix("23 JamDNS binds addresses") })
    }

    @Test("the zone is inferred from the names, local= makes it authoritative, overlaps with server=/name/# are said")
    func zoneAndMode() throws {
        let text = "address=/nas0.lab.example/192.168.1.66\nhost-record=vpn.lab.example,192.168.1.53\nserver=/vpn.lab.example/#\nserver=/docs.lab.example/#\n"
        let m = DnsmasqConfig.parse(text, file: "x", zone: nil) { _ in nil }
        #expect(m.zone == (try DNSName("lab.example.")) && m.fallthroughMode == .types && m.zoneReason.contains("2 of the 2"), "\(m.zoneReason)")
        #expect(m.overlaps.count == 1 && m.overlaps[0].hasPrefix("vpn.lab.example. has local A and server=/vpn.lab.example/#"), "\(m.overlaps)")
        let local = DnsmasqConfig.parse("local=/lab.example/\n" + text, file: "x", zone: nil) { _ in nil }
        #expect(local.zone == (try DNSName("lab.example.")) && local.fallthroughMode == .off && local.result.notes.isEmpty, "\(local.result.notes)")
        let none = DnsmasqConfig.parse("server=8.8.8.8\n", file: "x", zone: nil) { _ in nil }
        #expect(none.zone == nil && none.result.notes.contains { $0.reason.contains("--zone") })
    }

    @Test("local-service and dnssec are explained, not silently dropped")
    func mappingText() {
        let m = DnsmasqConfig.parse("local-service\ndnssec\nhost-record=a,10.0.0.1\n", file: "x", zone: zone) { _ in nil }
        #expect(m.config.contains("# local-service:") && m.config.contains("allow_recursion") && m.config.contains("# allow_query ="))
        #expect(m.result.notes.contains { $0.line == 2 && $0.reason.contains("DNSSEC validation is lost") })
        #expect(!m.result.notes.contains { $0.line == 1 })
    }

    @Test("PTRs as dnsmasq makes them: each address points to the first name that claims it")
    func pointers() throws {
        let recs = ["h1 192.168.10.150", "h2 192.168.10.150", "h1 192.168.10.151", "h3 fd00::150"].map { l -> ResourceRecord in
            let p = l.split(separator: " ")
            let ip = String(p[1])
            let rd: RData = ip.contains(":") ? .aaaa(IPv6Address(ip)!) : .a(IPv4Address(ip)!)
            return ResourceRecord(name: try! DNSName(String(p[0]) + ".lab."), type: ip.contains(":") ? .aaaa : .a, ttl: 0, rdata: rd)
        }
        let ptrs = ReversePointers.make(recs).map { "\($0.name) \($0.rdata.presentation)" }
        #expect(ptrs == ["150.10.168.192.in-addr.arpa. h1.lab.", "151.10.168.192.in-addr.arpa. h1.lab.",
                         "0.5.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa. h3.lab."], "\(ptrs)")
        #expect(ReversePointers.zone(of: try DNSName("150.10.168.192.in-addr.arpa.")) == (try DNSName("10.168.192.in-addr.arpa.")))
        #expect(ReversePointers.zone(of: try DNSName("10.168.192.in-addr.arpa.")) == nil)
    }

    @Test("local-ttl sets the records' TTL; without no-resolv the upstreams are left to the user")
    func ttlAndResolv() {
        let m = DnsmasqConfig.parse("local-ttl=60\nhost-record=a,10.0.0.1\n", file: "x", zone: zone) { _ in nil }
        #expect(m.result.records.map(\.ttl) == [60, 60], "the A and its PTR")
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

import DNSForward
import DNSWire
import Testing
@testable import DNSServer

@Suite struct ResolverConfigTests {
    /// The lab's dnsmasq setup, line for line.
    static let lab = """
        [resolver]
        upstreams = ["8.8.8.8"]                 # no-resolv + server=8.8.8.8
        domain_needed = true
        bogus_priv = true
        cache_size = 65536
        allow_recursion = ["127.0.0.0/8", "192.168.10.0/24", "fd00::/8"]   # local-service

        [forward."consul."]                      # server=/consul/192.168.10.120#8600 (and .121, .122)
        servers = ["192.168.10.120#8600", "192.168.10.121#8600", "192.168.10.122#8600"]
        min_ttl = 0
        cache = false
        serve_stale = false

        [forward."10.168.192.in-addr.arpa."]     # rev-server=192.168.10.0/24,127.0.0.1#8600
        servers = ["127.0.0.1#8600"]
        """

    @Test func dnsmasqSetupParses() throws {
        let c = try ServerConfig.parse(Self.lab)
        let r = c.resolver
        #expect(r.upstreams == [UpstreamServer("8.8.8.8")!])
        #expect(r.domainNeeded && r.bogusPriv && r.cacheSize == 65536)
        #expect(r.allowRecursion.map(\.description) == ["127.0.0.0/8", "192.168.10.0/24", "fd00::/8"])
        #expect(r.zones.count == 2)
        let consul = try #require(r.zones.first { $0.name == (try? DNSName("consul.")) })
        #expect(consul.servers.map(\.description) == ["192.168.10.120:8600", "192.168.10.121:8600", "192.168.10.122:8600"])
        #expect(!consul.cache && !consul.serveStale)
        let rev = try #require(r.zones.first { $0.name.description == "10.168.192.in-addr.arpa." })
        #expect(rev.servers.first?.port == 8600 && rev.cache && rev.serveStale)
    }

    @Test func defaultsHaveNoUpstream() {
        let r = ServerConfig().resolver
        #expect(!r.enabled && r.domainNeeded && r.bogusPriv && r.cacheSize == 65536)
    }

    static let bad: [(String, String)] = [
        ("[resolver]\nupstreams = [\"dns.google\"]\n", "config:2: bad server"),
        ("[resolver]\nallow_recursion = [\"10.0.0.0/33\"]\n", "config:2: bad prefix"),
        ("[resolver]\ndomain_needed = 1\n", "config:2: 'resolver.domain_needed' must be true or false"),
        ("[forward.\"consul.\"]\nservers = []\n", "config:1: [forward.\"consul.\"] needs servers"),
        ("[forward.\"consul.\"]\nserver = [\"1.2.3.4\"]\n", "config:2: unknown key 'server' in [forward.\"consul.\"]"),
        ("[server]\nlisten = [\"127.0.0.1:5300\"]\n[resolver]\nupstreams = [\"127.0.0.1:5300\"]\n", "config: upstream 127.0.0.1:5300 is one of jamdns's own listen addresses"),
        ("[resolver]\nupstream = [\"8.8.8.8\"]\n", "config:2: unknown key 'upstream' in [resolver] (did you mean 'upstreams'?"),
    ]

    @Test("resolver config errors name the line", arguments: 0..<bad.count)
    func errors(index: Int) {
        let (text, expected) = Self.bad[index]
        do {
            _ = try ServerConfig.parse(text)
            Issue.record("accepted")
        } catch {
            #expect(error.message.hasPrefix(expected), "\(error.message)")
        }
    }

    @Test func prefixes() throws {
        let p = try #require(IPPrefix("192.168.10.0/24"))
        #expect(p.contains([192, 168, 10, 7]) && !p.contains([192, 168, 11, 7]))
        #expect(p.contains([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 192, 168, 10, 1]))  // v4-mapped
        let ula = try #require(IPPrefix("fc00::/7"))
        #expect(ula.contains(IPv6Address("fd12::1")!.bytes) && !ula.contains(IPv6Address("2001:db8::1")!.bytes))
        #expect(IPPrefix("0.0.0.0/0")!.contains([8, 8, 8, 8]))
        #expect(IPPrefix.localDefaults.contains { $0.contains([100, 64, 1, 1]) })
        #expect(!IPPrefix.localDefaults.contains { $0.contains([8, 8, 8, 8]) })
    }
}

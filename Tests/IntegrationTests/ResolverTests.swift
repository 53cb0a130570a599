import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// jamdns as the LAN's resolver, against real peers on loopback: knotd as "the internet" (example.test) and a
/// second knotd standing in for Consul's DNS interface (consul., TTL 0).
@Suite(.serialized) struct ResolverTests {
    final class Lab: @unchecked Sendable {
        let internet: KnotServer
        let consul: KnotServer
        let jam: JamdnsServer
        init(extra: String = "") throws {
            internet = try KnotServer(zones: [("example.test.", Env.root + "/Tests/Fixtures/example.test.zone"),
                                              ("jamfox.dev.", Env.root + "/Tests/Fixtures/public-jamfox.dev.zone")],
                                      waitZone: "example.test.")
            consul = try KnotServer(zones: [("consul.", Env.root + "/Tests/Fixtures/consul.zone")])
            let dir = Env.tempDir("rescfg")
            Env.write(dir + "/jamdns.toml", """
                [resolver]
                upstreams = ["127.0.0.1:\(internet.port)"]
                try_timeout_ms = 300
                deadline_ms = 900
                \(extra)
                [forward."consul."]
                servers = ["127.0.0.1#\(consul.port)"]
                cache = false
                serve_stale = false
                """)
            jam = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"])
        }
    }

    @Test("forwarded answers: RA set, AA clear, the client's ID and question case back, the same records as upstream")
    func forwards() throws {
        let lab = try Lab()
        let m = try #require(DNSClient.ask("AlIaS.ExAmPlE.tEsT.", .a, port: lab.jam.port, rd: true, id: 0x4242))
        #expect(m.header.id == 0x4242 && m.header.ra && !m.header.aa && m.header.rd)
        #expect(m.questions.first?.name.description == "AlIaS.ExAmPlE.tEsT.")
        #expect(m.answers.count == 3 && m.rcode == .noError)
        // Over TCP too.
        let t = try #require(DNSClient.ask("mail.example.test.", .a, port: lab.jam.port, tcp: true, rd: true))
        #expect(t.answers.count == 1 && t.header.ra)
        // The lab's own zone still answers authoritatively.
        let own = try #require(DNSClient.ask("vs0.jamfox.dev.", .a, port: lab.jam.port, rd: true))
        #expect(own.header.aa && own.answers.count == 1)
    }

    @Test("the cache: TTLs count down; NXDOMAIN is cached with the SOA's negative TTL")
    func cache() throws {
        let lab = try Lab()
        let first = try #require(DNSClient.ask("mail.example.test.", .a, port: lab.jam.port, rd: true))
        usleep(2_100_000)
        let second = try #require(DNSClient.ask("mail.example.test.", .a, port: lab.jam.port, rd: true))
        let t1 = try #require(first.answers.first?.ttl), t2 = try #require(second.answers.first?.ttl)
        #expect(t1 - t2 >= 2 && t1 - t2 <= 3, "TTL \(t1) then \(t2)")
        let nx = try #require(DNSClient.ask("nothere.example.test.", .a, port: lab.jam.port, rd: true))
        #expect(nx.rcode == .nxDomain && nx.authority.first?.type == .soa && nx.authority.first?.ttl == 300)
        usleep(1_100_000)
        let nx2 = try #require(DNSClient.ask("nothere.example.test.", .a, port: lab.jam.port, rd: true))
        #expect(nx2.rcode == .nxDomain && (nx2.authority.first?.ttl ?? 300) < 300)
    }

    @Test("serve-stale: an expired answer, TTL 30 and EDE 3, when the upstream is gone (RFC 8767)")
    func serveStale() throws {
        let lab = try Lab(extra: "cache_max_ttl = 1")
        let fresh = try #require(DNSClient.ask("mail.example.test.", .a, port: lab.jam.port, rd: true))
        #expect(fresh.answers.count == 1)
        lab.internet.child.stop()
        usleep(1_500_000)
        let stale = try #require(DNSClient.ask("mail.example.test.", .a, port: lab.jam.port, rd: true))
        #expect(stale.answers.first?.ttl == 30)
        #expect(stale.edns?.extendedErrors.first?.code == .staleAnswer)
    }

    @Test("'resolve upstream' names inside the lab's zone: live on dnsctl, subtree included, and back")
    func resolveUpstream() throws {
        let lab = try Lab()
        func a(_ n: String) -> IPv4Address? {
            if case .a(let v)? = DNSClient.ask(n, .a, port: lab.jam.port, rd: true)?.answers.first?.rdata { return v }
            return nil
        }
        #expect(a("docs.jamfox.dev.") == IPv4Address(192, 168, 10, 80))  // the wildcard, authoritatively
        let (rc, out) = try lab.jam.dnsctl(["upstream", "add", "docs.jamfox.dev"])
        #expect(rc == 0, "\(out)")
        var switched = false
        for _ in 0..<50 where !switched {
            usleep(20_000)
            switched = a("docs.jamfox.dev.") == IPv4Address(203, 0, 113, 10)
        }
        #expect(switched, "not resolved upstream within a second")
        #expect(a("x.docs.jamfox.dev.") == IPv4Address(203, 0, 113, 11))
        let m = try #require(DNSClient.ask("docs.jamfox.dev.", .a, port: lab.jam.port, rd: true))
        #expect(!m.header.aa && m.header.ra)
        #expect(a("vs0.jamfox.dev.") == IPv4Address(192, 168, 10, 130))  // the rest of the zone is untouched
        #expect(try lab.jam.dnsctl(["upstream", "list", "--json"]).1.contains("docs.jamfox.dev."))
        #expect(try lab.jam.dnsctl(["upstream", "rm", "docs.jamfox.dev"]).0 == 0)
        var back = false
        for _ in 0..<50 where !back {
            usleep(20_000)
            back = a("docs.jamfox.dev.") == IPv4Address(192, 168, 10, 80)
        }
        #expect(back)
        #expect(try lab.jam.dnsctl(["upstream", "add", "example.com."]).0 == 1)  // absolute and in no zone
    }

    @Test("dnsctl cache show / flush / stats over the control socket")
    func cacheControl() throws {
        let lab = try Lab()
        #expect(DNSClient.ask("mail.example.test.", .a, port: lab.jam.port, rd: true)?.answers.count == 1)
        #expect(DNSClient.ask("mail.example.test.", .aaaa, port: lab.jam.port, rd: true) != nil)
        let (rc, show) = try lab.jam.dnsctl(["cache", "show", "mail.example.test"])
        #expect(rc == 0 && show.contains("2 entries") && show.contains("A positive") && show.contains("AAAA"), "\(show)")
        let (rc2, stats) = try lab.jam.dnsctl(["cache", "stats"])
        #expect(rc2 == 0 && stats.contains("cache entries=2"), "\(stats)")
        // --json: one document, the counters as numbers.
        let (rcj, json) = try lab.jam.dnsctl(["cache", "stats", "--json"])
        #expect(rcj == 0 && json.split(separator: "\n").count == 1 && json.contains(#""entries":2"#) && json.contains(#""request":"stats""#), "\(json)")
        let (rc3, flushed) = try lab.jam.dnsctl(["cache", "flush", "mail.example.test"])
        #expect(rc3 == 0 && flushed.contains("flushed 2 entries"), "\(flushed)")
        #expect(try lab.jam.dnsctl(["cache", "show", "mail.example.test"]).1.contains("nothing cached"))
        #expect(try lab.jam.dnsctl(["cache", "flush"]).0 == 0)
        let (rc4, err) = try lab.jam.dnsctl(["cache", "stats", "--socket", "/nonexistent/ctl"])
        #expect(rc4 == 1 && err.contains("cannot reach jamdns"), "\(err)")
    }

    /// `upstream consul. 127.0.0.1:PORT up rtt=3ms answered=N failed=M` lines from `dnsctl cache stats`.
    static func upstreamLine(_ stats: String, port: UInt16) -> (state: String, answered: Int, failed: Int)? {
        for line in stats.split(separator: "\n") where line.hasPrefix("upstream ") && line.contains(":\(port) ") {
            let f = line.split(separator: " ")
            guard f.count >= 7 else { continue }
            let answered = Int(f[5].split(separator: "=").last ?? "") ?? -1
            let failed = Int(f[6].split(separator: "=").last ?? "") ?? -1
            return (String(f[3]), answered, failed)
        }
        return nil
    }

    @Test("one of three Consul servers stops mid-test: answers keep coming within a second; when it is back, a probe revives it")
    func consulFailoverAndRecovery() throws {
        let fixture = Env.root + "/Tests/Fixtures/consul.zone"
        let consuls = try (0..<3).map { _ in try KnotServer(zones: [("consul.", fixture)]) }
        let dir = Env.tempDir("consulcfg")
        Env.write(dir + "/jamdns.toml", """
            [resolver]
            try_timeout_ms = 300
            deadline_ms = 900
            probe_interval_ms = 200
            [forward."consul."]
            servers = [\(consuls.map { "\"127.0.0.1#\($0.port)\"" }.joined(separator: ", "))]
            cache = false
            serve_stale = false
            """)
        let jam = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"])
        for _ in 0..<10 { #expect(DNSClient.ask("web.service.consul.", .a, port: jam.port, rd: true)?.answers.count == 2) }
        // Stop the server that carries the traffic.
        let stats = try jam.dnsctl(["cache", "stats"]).1
        let busiest = try #require(consuls.max { (Self.upstreamLine(stats, port: $0.port)?.answered ?? 0) < (Self.upstreamLine(stats, port: $1.port)?.answered ?? 0) })
        busiest.child.stop()
        var worst: Int64 = 0
        for _ in 0..<30 {
            let t0 = monotonicMs()
            let m = DNSClient.ask("web.service.consul.", .a, port: jam.port, rd: true)
            worst = max(worst, monotonicMs() - t0)
            #expect(m?.rcode == .noError && m?.answers.count == 2)
        }
        #expect(worst < 1000, "an answer took \(worst) ms during the failover")
        // Traffic may have gone to the others (their latency is as low): the idle probe finds it out anyway.
        var during = try #require(Self.upstreamLine(try jam.dnsctl(["cache", "stats"]).1, port: busiest.port))
        for _ in 0..<30 where during.state == "up" {
            usleep(100_000)
            during = try #require(Self.upstreamLine(try jam.dnsctl(["cache", "stats"]).1, port: busiest.port))
        }
        #expect(during.state != "up" && during.failed >= 1, "\(during)")
        // Bring it back on the same port; keep asking so probes go out; it must come back alive.
        let knotd = try #require(Env.which("knotd"))
        let again = try Child([knotd, "-c", busiest.dir + "/knot.conf"], log: busiest.dir + "/knot2.log")
        _ = again
        var revived = false
        let t0 = monotonicMs()
        while !revived && monotonicMs() - t0 < 8000 {
            _ = DNSClient.ask("web.service.consul.", .srv, port: jam.port, rd: true)
            usleep(200_000)
            if let l = Self.upstreamLine(try jam.dnsctl(["cache", "stats"]).1, port: busiest.port), l.state == "up", l.answered > during.answered {
                revived = true
            }
        }
        #expect(revived, "the restarted server was not probed back to up within 8 s")
    }

    /// `cache entries=N` and `coalesced=N upstream=N` from `dnsctl cache stats`.
    static func stat(_ stats: String, _ key: String) -> Int? {
        for word in stats.split(whereSeparator: { $0 == " " || $0 == "\n" }) where word.hasPrefix(key + "=") {
            return Int(word.dropFirst(key.count + 1))
        }
        return nil
    }

    @Test("identical questions from many clients at once: one upstream query")
    func coalescingThroughTheServer() throws {
        let (hole, holePort) = ForwarderTests.blackHole()
        defer { close(hole) }
        let dir = Env.tempDir("coal")
        Env.write(dir + "/jamdns.toml", "[resolver]\nupstreams = [\"127.0.0.1:\(holePort)\"]\ntry_timeout_ms = 500\ndeadline_ms = 500\n")
        let jam = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"])
        // 40 clients (40 sockets) ask the same question without waiting for each other.
        var fds: [Int32] = []
        for i in 0..<40 {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var tv = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = jam.port.bigEndian
            sin.sin_addr.s_addr = inet_addr("127.0.0.1")
            let q = Message.query(try DNSName("same.example.test."), .a, id: UInt16(i)).wireBytes()
            _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, q, q.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            fds.append(fd)
        }
        var answered = 0
        for fd in fds {
            var buf = [UInt8](repeating: 0, count: 1500)
            if recv(fd, &buf, buf.count, 0) > 0, (buf[3] & 0x0F) == 2 { answered += 1 }  // SERVFAIL: the upstream is a black hole
            close(fd)
        }
        #expect(answered == 40)
        let stats = try jam.dnsctl(["cache", "stats"]).1
        #expect(Self.stat(stats, "upstream") == 1, "\(stats)")
        #expect(Self.stat(stats, "coalesced") == 39, "\(stats)")
        // And counted where it arrived: the upstream's socket holds exactly one query for the name. jamdns's own
        // health probe (`. NS`) may be there too, unless the clients' question reached the server first (then
        // that was its first contact); UpstreamHealthTests checks the probe with no traffic at all.
        _ = fcntl(hole, F_SETFL, fcntl(hole, F_GETFL, 0) | O_NONBLOCK)
        var seen = 0
        var buf = [UInt8](repeating: 0, count: 1500)
        while case let n = recv(hole, &buf, buf.count, 0), n > 0 {
            if (try? Message.parse(Array(buf[0..<n])))?.questions.first?.name == (try DNSName("same.example.test.")) { seen += 1 }
        }
        #expect(seen == 1, "the upstream saw \(seen) queries for the name")
    }

    @Test("an answer too big for UDP upstream is fetched over TCP and handed whole to a TCP client")
    func truncatedUpstreamThroughTheServer() throws {
        let lab = try Lab()
        let udp = try #require(DNSClient.ask("big.example.test.", .txt, port: lab.jam.port, rd: true))
        #expect(udp.header.tc && udp.answers.isEmpty)  // 1232 bytes is not enough: TC to the client
        let tcp = try #require(DNSClient.ask("big.example.test.", .txt, port: lab.jam.port, tcp: true, rd: true))
        #expect(!tcp.header.tc && tcp.answers.count == 1)
        if case .txt(let txt)? = tcp.answers.first?.rdata { #expect(txt.strings.count == 30) } else { Issue.record("no TXT") }
    }

    @Test("unbound as the upstream (a recursive peer in front of the authoritative one)")
    func unboundUpstream() throws {
        let internet = try KnotServer(zones: [("example.test.", Env.root + "/Tests/Fixtures/example.test.zone")])
        let unbound = try UnboundServer(forwardTo: internet.port)
        let dir = Env.tempDir("ubcfg")
        Env.write(dir + "/jamdns.toml", "[resolver]\nupstreams = [\"127.0.0.1:\(unbound.port)\"]\n")
        let jam = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"])
        let m = try #require(DNSClient.ask("alias.example.test.", .a, port: jam.port, rd: true))
        #expect(m.rcode == .noError && m.answers.count == 3 && m.header.ra)
        let nx = try #require(DNSClient.ask("nothere.example.test.", .a, port: jam.port, rd: true))
        #expect(nx.rcode == .nxDomain)
    }

    @Test("a flood of random names stays inside the cache bound and memory stays bounded")
    func randomNameFlood() throws {
        let lab = try Lab(extra: "cache_size = 2000")
        let rss0 = rssKB(lab.jam.child.pid)
        for i in 0..<6000 { _ = DNSClient.ask("r\(i)-\(UInt32.random(in: 0...UInt32.max)).example.test.", .a, port: lab.jam.port, rd: true, timeoutMs: 1000) }
        let stats = try lab.jam.dnsctl(["cache", "stats"]).1
        let entries = try #require(Self.stat(stats, "entries"))
        #expect(entries <= 2000, "\(stats)")
        #expect((Self.stat(stats, "evictions") ?? 0) >= 3000, "\(stats)")
        let grown = rssKB(lab.jam.child.pid) - rss0
        #expect(grown < 20_000, "RSS grew \(grown) kB during the flood")
        // Normal service continues.
        #expect(DNSClient.ask("mail.example.test.", .a, port: lab.jam.port, rd: true)?.answers.count == 1)
    }

    @Test("a forwarding loop (an upstream that forwards back to us) ends in SERVFAIL at once, not a storm")
    func forwardingLoop() throws {
        // unbound forwards everything to jamdns, and jamdns forwards everything to unbound.
        let jamPort = Env.freePort()
        let unbound = try UnboundServer(forwardTo: jamPort, waitReady: false)
        let dir = Env.tempDir("loop")
        Env.write(dir + "/jamdns.toml", "[server]\nlisten = [\"127.0.0.1:\(jamPort)\"]\n[resolver]\nupstreams = [\"127.0.0.1:\(unbound.port)\"]\ndeadline_ms = 1500\n")
        let c = try Child([Env.bin + "/jamdns", "--config", dir + "/jamdns.toml", "--db", dir + "/s.sqlite", "--zones", Env.root + "/zones"], log: dir + "/log")
        _ = c
        try waitUntilAnswering(port: jamPort, zone: nil)
        let t0 = monotonicMs()
        let m = try #require(DNSClient.ask("www.example.com.", .a, port: jamPort, rd: true, timeoutMs: 5000))
        #expect(m.rcode == .servFail)
        #expect(monotonicMs() - t0 < 3000)
        // Unbound builds its own upstream queries, so our loop token does not survive it; coalescing on both
        // sides holds the inner query behind the outer one, so the loop ends after a handful of queries
        // instead of a storm. (Forwarders that pass the packet on, dnsmasq or another jamdns, carry the token.)
        let (_, stats) = try runTool(Env.bin + "/dnsctl", ["cache", "stats", "--socket", dir + "/jamdns.ctl"], dir: dir)
        #expect((Self.stat(stats, "received") ?? 99) <= 8 && (Self.stat(stats, "upstream") ?? 99) <= 8, "\(stats)")
    }

    @Test("prefetch: a popular answer in the last 10 % of its TTL is refreshed in the background")
    func prefetch() throws {
        let lab = try Lab()
        func upstream() throws -> Int { Self.stat(try lab.jam.dnsctl(["cache", "stats"]).1, "upstream") ?? -1 }
        #expect(DNSClient.ask("ttl10.example.test.", .a, port: lab.jam.port, rd: true)?.answers.first?.ttl == 10)
        let afterMiss = try upstream()
        #expect(DNSClient.ask("ttl10.example.test.", .a, port: lab.jam.port, rd: true) != nil)
        #expect(DNSClient.ask("ttl10.example.test.", .a, port: lab.jam.port, rd: true) != nil)
        usleep(9_200_000)  // 1 s of 10 left: a hit now asks for a prefetch
        let late = try #require(DNSClient.ask("ttl10.example.test.", .a, port: lab.jam.port, rd: true))
        #expect(late.answers.first?.ttl ?? 99 <= 1)
        usleep(300_000)
        #expect(try upstream() == afterMiss + 1, "the prefetch did not go upstream")
        // The refreshed entry serves past the old expiry without a miss.
        usleep(1_000_000)
        let fresh = try #require(DNSClient.ask("ttl10.example.test.", .a, port: lab.jam.port, rd: true))
        #expect(fresh.answers.first?.ttl ?? 0 >= 8)
        #expect(try upstream() == afterMiss + 1)
    }
}


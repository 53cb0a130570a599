import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Running jamdns as a service: systemd notification, SIGHUP config reloads, metrics, the query log,
/// response-rate limiting, and the unit files themselves.
@Suite(.serialized) struct OperationsTests {
    /// A unix datagram socket standing in for systemd's notify socket.
    final class NotifySocket {
        let fd: Int32
        let path: String
        init(_ path: String) throws {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var a = sockaddr_un()
            a.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &a.sun_path) { p in for (i, b) in path.utf8.enumerated() { p[i] = b } }
            let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            guard rc == 0 else { throw TestFailure("cannot bind \(path)") }
        }
        /// The next message, within `ms`.
        func next(ms: Int) -> String? {
            var tv = timeval(tv_sec: ms / 1000, tv_usec: (ms % 1000) * 1000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &buf, buf.count, 0)
            return n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : nil
        }
        deinit { close(fd) }
    }

    @Test("Type=notify: READY=1 only once the port answers; SIGHUP sends RELOADING=1 then READY=1; SIGTERM sends STOPPING=1")
    func sdNotify() throws {
        let dir = Env.tempDir("notify")
        let sock = try NotifySocket(dir + "/notify")
        let port = Env.freePort()
        let child = try Child([Env.bin + "/jamdns", "--listen", "127.0.0.1:\(port)", "--db", dir + "/s.sqlite", "--zones", Env.root + "/zones"],
                              log: dir + "/jamdns.log", env: ["NOTIFY_SOCKET": sock.path])
        let ready = try #require(sock.next(ms: 15_000), "no notification: \(Env.read(dir + "/jamdns.log"))")
        #expect(ready.hasPrefix("READY=1\n") && ready.contains("STATUS=serving 1 zones on 127.0.0.1:\(port)"))
        // No polling: the very first query after READY is answered.
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: port, timeoutMs: 500)?.answers.count == 1)
        child.signal(SIGHUP)
        #expect(sock.next(ms: 5000) == "RELOADING=1")
        #expect(sock.next(ms: 5000) == "READY=1")
        child.signal(SIGTERM)
        #expect(sock.next(ms: 5000) == "STOPPING=1")
        #expect(child.wait(ms: 5000) == 0)
    }

    @Test("SIGHUP applies a new config without losing a query or the cache; a broken config keeps the old one running")
    func reload() throws {
        let internet = try KnotServer(zones: [("example.test.", Env.root + "/Tests/Fixtures/example.test.zone")])
        let consul = try KnotServer(zones: [("consul.", Env.root + "/Tests/Fixtures/consul.zone")])
        let dir = Env.tempDir("reload")
        let p1 = Env.freePort(), p2 = Env.freePort(), mport = Env.freePort()
        func config(listen: [UInt16], consulZone: Bool, broken: Bool = false) -> String {
            """
            [server]
            listen = [\(listen.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]
            [store]
            path = "\(dir)/s.sqlite"
            seed_zones = "\(Env.root)/zones"
            [metrics]
            listen = "127.0.0.1:\(mport)"
            [resolver]
            upstreams = ["127.0.0.1:\(internet.port)"]
            try_timeout_ms = 300
            deadline_ms = 900
            \(broken ? "cache_size = \"lots\"" : "")
            \(consulZone ? "[forward.\"consul.\"]\nservers = [\"127.0.0.1#\(consul.port)\"]\ncache = false" : "")
            """
        }
        Env.write(dir + "/jamdns.toml", config(listen: [p1], consulZone: false))
        let child = try Child([Env.bin + "/jamdns", "--config", dir + "/jamdns.toml"], log: dir + "/jamdns.log")
        try waitUntilAnswering(port: p1, zone: nil)
        #expect(DNSClient.ask("mail.example.test.", .a, port: p1, rd: true)?.answers.count == 1)
        // consul. is not forwarded yet: it goes to the default upstream, which refuses it.
        #expect(DNSClient.ask("web.service.consul.", .a, port: p1, rd: true)?.answers.isEmpty == true)

        // Queries keep flowing on p1 while the config changes under them.
        final class Counter: @unchecked Sendable { var sent = 0, lost = 0, stop = false }
        let counter = Counter()
        let t = spawnTestThread {
            while !counter.stop {
                counter.sent += 1
                if DNSClient.ask("vs\(counter.sent % 3).jamfox.dev.", .a, port: p1, timeoutMs: 1000)?.answers.count != 1 { counter.lost += 1 }
            }
        }
        usleep(300_000)
        Env.write(dir + "/jamdns.toml", config(listen: [p1, p2], consulZone: true))
        child.signal(SIGHUP)
        usleep(800_000)
        // The new listener answers; the new forward zone is in effect.
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: p2)?.answers.count == 1)
        #expect(DNSClient.ask("web.service.consul.", .a, port: p2, rd: true)?.answers.count == 2)
        // The cache survived: with the internet gone, the answer cached before the reload is still served.
        internet.child.stop()
        let cached = DNSClient.ask("mail.example.test.", .a, port: p1, rd: true)
        #expect(cached?.answers.count == 1 && cached?.rcode == .noError)

        // A broken config: rejected with its line, the running one untouched.
        Env.write(dir + "/jamdns.toml", config(listen: [p2], consulZone: false, broken: true))
        child.signal(SIGHUP)
        usleep(500_000)
        #expect(Env.read(dir + "/jamdns.log").contains("config reload rejected, still running the previous config: \(dir)/jamdns.toml:12: 'resolver.cache_size' must be an integer"))
        #expect(DNSClient.ask("vs1.jamfox.dev.", .a, port: p1)?.answers.count == 1)
        #expect(DNSClient.ask("web.service.consul.", .a, port: p1, rd: true)?.answers.count == 2)
        let (status, text) = httpGet(port: mport, "/metrics")
        #expect(status == 200)
        #expect(metric(text, "jamdns_config_reloads_total{result=\"applied\"}") == 1)
        #expect(metric(text, "jamdns_config_reloads_total{result=\"rejected\"}") == 1)
        #expect((metric(text, "jamdns_cache_entries") ?? 0) >= 1)
        #expect((metric(text, "jamdns_queries_total{type=\"A\",rcode=\"NOERROR\",transport=\"udp\",source=\"cache\"}") ?? 0) >= 1)

        counter.stop = true
        pthread_join(t, nil)
        #expect(counter.lost == 0 && counter.sent > 50, "lost \(counter.lost) of \(counter.sent) queries across the reloads")

        // Removing p1 from the config closes it; p2 stays.
        Env.write(dir + "/jamdns.toml", config(listen: [p2], consulZone: true))
        child.signal(SIGHUP)
        usleep(1_500_000)
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: p1, timeoutMs: 300) == nil)
        #expect(DNSClient.connectTCP(port: p1, timeoutMs: 300) == nil)
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: p2)?.answers.count == 1)
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: p2, tcp: true)?.answers.count == 1)
        // /healthz follows the listeners: it now asks p2.
        let (hs, health) = httpGet(port: mport, "/healthz")
        #expect(hs == 200 && health.contains("127.0.0.1:\(p2) answered"), "\(health)")
        child.stop()
    }

    /// A server between edits holds no store connection, so no SQLite (1.2 MB of RSS at start): the watcher
    /// closes its connection once nothing is pending and file events tell it of the next commit; the UPDATE
    /// writer closes its own after a second idle. Edits from dnsctl and UPDATEs still go live, each time.
    @Test("between edits the server has SQLite unmapped; dnsctl edits and UPDATEs are served, then it is unmapped again")
    func storeClosedBetweenEdits() throws {
        let s = try UpdateInteropTests.startJamdns()
        defer { s.child.stop() }
        func mapped() -> Bool { Env.read("/proc/\(s.child.pid)/maps").contains("libsqlite3") }
        /// Unmapped within 5 s (the UPDATE writer's idle second, then a poll), and still unmapped at each of 20
        /// looks over the second after: a watcher woken by its own connection's files would reopen it every
        /// 200 ms or so.
        func unmappedSoon() -> Bool {
            for _ in 0..<50 where mapped() { usleep(100_000) }
            for _ in 0..<20 {
                if mapped() { return false }
                usleep(50_000)
            }
            return true
        }
        #expect(unmappedSoon(), "SQLite still mapped after start")
        for round in 0..<3 {
            let (st, out) = try s.dnsctl(["record", "add", "idle\(round).jamfox.dev", "A", "192.0.2.\(round + 1)"])
            #expect(st == 0, "\(out)")
            var served = false
            for _ in 0..<200 where !served {
                served = DNSClient.ask("idle\(round).jamfox.dev.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(192, 0, 2, UInt8(round + 1)))
                if !served { usleep(10_000) }
            }
            #expect(served, "the edit of round \(round) was not served within 2 s")
            #expect(unmappedSoon(), "SQLite still mapped after the edit of round \(round)")
            let dir = Env.tempDir("idle-update")
            let rcode = try UpdateInteropTests.send("nsupdate", port: s.port, key: ("admin", UpdateInteropTests.adminSecret),
                                                    ["update add upd\(round).jamfox.dev. 300 A 10.9.0.\(round + 1)"], dir: dir)
            #expect(rcode == "NOERROR")
            #expect(DNSClient.ask("upd\(round).jamfox.dev.", .a, port: s.port)?.answers.count == 1, "an UPDATE is answered once served")
            #expect(unmappedSoon(), "SQLite still mapped after the UPDATE of round \(round)")
        }
    }

    /// The limiter's table of 64 Ki client slots is 2 MB. It used to be filled in full on the first client from
    /// outside the exempt ranges; now a page of it takes memory only when a prefix hashing into it is seen.
    /// Compared with the same server and questions with the limiter off (the readiness check has already asked
    /// by the time a server is handed over, so there is no "before" on the limited one).
    @Test("the first limited client costs the server a page of the rate-limit table, not 2 MB")
    func rateLimitTableGrowsWithClients() throws {
        var rss: [Int] = []
        for table in ["exempt = [\"10.0.0.0/8\"]", "enabled = false"] {
            let dir = Env.tempDir("rrl-memory")
            Env.write(dir + "/jamdns.toml", "[rate_limit]\n\(table)\n")
            let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"])
            for _ in 0..<5 { #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port)?.answers.count == 1) }
            rss.append(rssKB(s.child.pid))
        }
        #expect(rss[1] > 0 && rss[0] - rss[1] < 1024, "limited: \(rss[0]) KB, not limited: \(rss[1]) KB")
    }

    @Test("metrics count queries by type, rcode, transport and source; /healthz asks the server; the query log has every answer")
    func metricsAndQueryLog() throws {
        let dir = Env.tempDir("metrics")
        let mport = Env.freePort()
        Env.write(dir + "/jamdns.toml", """
            [metrics]
            listen = "127.0.0.1:\(mport)"
            [log]
            query_log = "\(dir)/queries.log"
            """)
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"])
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port)?.answers.count == 1)
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port)?.answers.count == 1)  // from the answer memo
        #expect(DNSClient.ask("vs0.jamfox.dev.", .aaaa, port: s.port, tcp: true)?.rcode == .noError)
        #expect(DNSClient.ask("no.such.name.jamfox.dev.", .mx, port: s.port)?.rcode == .noError)  // the wildcard
        #expect(DNSClient.ask("www.example.org.", .a, port: s.port)?.rcode == .refused)
        var garbage = Message.query(try DNSName("vs0.jamfox.dev."), .a, id: 9).wireBytes()
        garbage[5] = 2  // QDCOUNT 2: FORMERR
        #expect(DNSClient.udp(garbage, port: s.port).map { $0[3] & 0xF } == 1)
        let (status, text) = httpGet(port: mport, "/metrics")
        #expect(status == 200)
        #expect(metric(text, "jamdns_queries_total{type=\"A\",rcode=\"NOERROR\",transport=\"udp\",source=\"authoritative\"}").map { $0 >= 2 } == true, "\(text)")
        #expect(metric(text, "jamdns_queries_total{type=\"AAAA\",rcode=\"NOERROR\",transport=\"tcp\",source=\"authoritative\"}") == 1)
        #expect(metric(text, "jamdns_queries_total{type=\"MX\",rcode=\"NOERROR\",transport=\"udp\",source=\"authoritative\"}") == 1)
        #expect(metric(text, "jamdns_queries_total{type=\"A\",rcode=\"REFUSED\",transport=\"udp\",source=\"refused\"}") == 1)
        #expect(metric(text, "jamdns_queries_total{type=\"A\",rcode=\"FORMERR\",transport=\"udp\",source=\"local\"}") == 1)
        #expect(metric(text, "jamdns_query_duration_seconds_count{source=\"authoritative\"}").map { $0 >= 4 } == true)
        // Two TCP connections: the readiness check (waitUntilServing) and the AAAA query.
        #expect(metric(text, "jamdns_tcp_connections_total") == 2 && metric(text, "jamdns_zones") == 1)
        #expect(text.contains("# TYPE jamdns_query_duration_seconds histogram"))
        #expect(metric(text, "jamdns_rate_limit_enabled") == 1 && metric(text, "jamdns_rrl_dropped_total") == 0, "on by default; loopback exempt")
        let (hs, health) = httpGet(port: mport, "/healthz")
        #expect(hs == 200 && health.hasPrefix("ok: 127.0.0.1:\(s.port) answered jamfox.dev. SOA (NOERROR)"), "\(health)")
        #expect(httpGet(port: mport, "/nope").0 == 404)
        usleep(500_000)  // the log writer flushes every 200 ms
        let log = Env.read(dir + "/queries.log")
        #expect(log.contains("client=127.0.0.1 name=vs0.jamfox.dev. type=A rcode=NOERROR source=authoritative transport=udp latency_us="))
        #expect(log.contains("name=vs0.jamfox.dev. type=AAAA rcode=NOERROR source=authoritative transport=tcp"))
        #expect(log.contains("name=www.example.org. type=A rcode=REFUSED source=refused transport=udp"))
        #expect(log.split(separator: "\n").count >= 7)
    }

    @Test("dnsctl explain: zone, wildcard, forward rule with upstream health, cache entry; the store alone when the server is down")
    func explain() throws {
        let internet = try KnotServer(zones: [("example.test.", Env.root + "/Tests/Fixtures/example.test.zone")])
        let consul = try KnotServer(zones: [("consul.", Env.root + "/Tests/Fixtures/consul.zone")])
        let dir = Env.tempDir("explain")
        Env.write(dir + "/jamdns.toml", """
            [resolver]
            upstreams = ["127.0.0.1:\(internet.port)"]
            [forward."consul."]
            servers = ["127.0.0.1#\(consul.port)"]
            cache = false
            """)
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"])
        #expect(DNSClient.ask("mail.example.test.", .a, port: s.port, rd: true)?.answers.count == 1)
        #expect(DNSClient.ask("web.service.consul.", .a, port: s.port, rd: true)?.answers.count == 2)
        let (rc, wild) = try s.dnsctl(["explain", "grafana.jamfox.dev"])
        #expect(rc == 0 && wild.contains("the wildcard *.jamfox.dev. matches it") && wild.contains("answer: NOERROR, authoritative, 1 answer record(s)"), "\(wild)")
        let (_, consulText) = try s.dnsctl(["explain", "web.service.consul", "SRV"])
        #expect(consulText.contains("no served zone contains web.service.consul.") && consulText.contains("forwarded by [forward.\"consul.\"], cache off"), "\(consulText)")
        #expect(consulText.contains("127.0.0.1#\(consul.port) up") || consulText.contains("127.0.0.1:\(consul.port) up"), "\(consulText)")
        let (_, cached) = try s.dnsctl(["explain", "mail.example.test"])
        #expect(cached.contains("forwarded by resolver.upstreams (the default)") && cached.contains("cache: A positive"), "\(cached)")
        let (_, single) = try s.dnsctl(["explain", "nas"])
        #expect(single.contains("NXDOMAIN without asking anyone: single-label names are not forwarded (domain_needed)"), "\(single)")
        s.child.stop()
        let (rc2, offline) = try s.dnsctl(["explain", "vs0.jamfox.dev", "AAAA"])
        #expect(rc2 == 0 && offline.contains("jamdns is not running") && offline.contains("exists with A but no AAAA: NODATA"), "\(offline)")
    }

    @Test("the shipped units pass systemd-analyze verify without a single warning")
    func unitsVerify() throws {
        let analyze = try #require(Env.which("systemd-analyze"))
        let dir = Env.tempDir("units")
        var files: [String] = []
        for unit in ["jamdns.service", "jamdns-ddns.service"] {
            // The binaries are looked for where ExecStart says: point it at this build.
            let text = Env.read(Env.root + "/systemd/" + unit).replacingOccurrence("/usr/local/bin/", Env.bin + "/")
            Env.write(dir + "/" + unit, text)
            files.append(dir + "/" + unit)
        }
        let (rc, out) = try runTool(analyze, ["verify"] + files, dir: dir)
        #expect(rc == 0 && out.trimmingWhitespace.isEmpty, "\(out)")
        // The hardening the issue asks for is there.
        let unit = Env.read(Env.root + "/systemd/jamdns.service")
        for line in ["Type=notify", "ExecReload=/bin/kill -HUP $MAINPID", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "ProtectSystem=strict",
                     "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes", "SystemCallFilter=@system-service", "StateDirectory=jamdns"] {
            #expect(unit.contains(line + "\n"), "jamdns.service lacks \(line)")
        }
        #expect(Env.read(Env.root + "/systemd/jamdns-ddns.service").contains("LoadCredential="))
    }
}

/// A plain thread for a test's background load.
func spawnTestThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ b: @escaping @Sendable () -> Void) { body = b }
    }
    var tid = pthread_t()
    pthread_create(&tid, nil, { arg in
        Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
        return nil
    }, Unmanaged.passRetained(Box(body)).toOpaque())
    return tid
}

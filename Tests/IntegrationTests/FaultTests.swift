import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults a Pi meets: a store that cannot be opened or written, a store locked by a long writer, kill -9 and
/// restart, floods of random names and of TCP connections that never send.
@Suite(.serialized) struct FaultTests {
    @Test("RSS stays flat over edits of a 60,000-record zone: the catalog an edit replaces is handed back to the system")
    func flatOverEdits() throws {
        let dir = Env.tempDir("flat")
        var text = "$ORIGIN scale.test.\n$TTL 3600\n@ SOA ns h 1 3600 600 1209600 300\n@ NS ns\nns A 192.0.2.1\n"
        for i in 0..<60_000 { text += "h\(i) A 10.\((i >> 16) & 255).\((i >> 8) & 255).\(i & 255)\n" }
        Env.write(dir + "/scale.test.zone", text)
        let db = dir + "/s.sqlite"
        // Imported before the server starts, so its first RSS holds one catalog and nothing of an import.
        let (irc, iout) = try runTool(Env.bin + "/dnsctl", ["--db", db, "zone", "import", dir + "/scale.test.zone"], dir: dir)
        #expect(irc == 0, "\(iout)")
        let (port, child) = try startOnFreePort("jamdns", { port in
            let c = try Child([Env.bin + "/jamdns", "--listen", "127.0.0.1:\(port)", "--db", db], log: dir + "/jamdns.log")
            do { try waitUntilServing(port: port, zone: "scale.test.") } catch { c.stop(); throw error }
            return (port, c)
        }, log: { _ in Env.read(dir + "/jamdns.log") })
        defer { child.stop() }
        usleep(1_000_000)
        let start = rssKB(child.pid)
        var settled: [Int] = []
        for e in 0..<5 {
            let (rc, out) = try runTool(Env.bin + "/dnsctl", ["--db", db, "record", "add", "e\(e).scale.test", "A", "192.0.2.\(e + 10)"], dir: dir)
            #expect(rc == 0, "\(out)")
            var live = false
            for _ in 0..<600 where !live {
                live = DNSClient.ask("e\(e).scale.test.", .a, port: port)?.answers.count == 1
                if !live { usleep(50_000) }
            }
            #expect(live)
            usleep(1_000_000)  // the watcher trims on its next tick after the swap
            settled.append(rssKB(child.pid))
        }
        print("RSS at start and after each edit of a 60,000-record zone (KiB): \(start) \(settled)")
        // Each edit reached the server through the journal, applied in place, not as a reload of the store.
        let log = Env.read(dir + "/jamdns.log")
        #expect(log.components(separatedBy: "zones updated").count - 1 >= 5 && !log.contains("zones reloaded"), "\(log)")
        // Keeping replaced catalogs doubled it (40 MB to 88 MB by the third edit); the noise (the store's page
        // cache, heap fragments, a passing spike of a few MB) stays well under the bound, the median under less.
        let median = settled.sorted()[settled.count / 2]
        #expect(Double(median) <= Double(start) * 1.25, "RSS (KiB) at start \(start), after each edit \(settled)")
    }

    @Test("edits reuse the heap the copies they replace held: 200 edits leave no growing pile of free fragments")
    func editsReuseHeap() throws {
        let dir = Env.tempDir("heap")
        var text = "$ORIGIN scale.test.\n$TTL 3600\n@ SOA ns h 1 3600 600 1209600 300\n@ NS ns\nns A 192.0.2.1\n"
        for i in 0..<60_000 { text += "h\(i) A 10.\((i >> 16) & 255).\((i >> 8) & 255).\(i & 255)\n" }
        Env.write(dir + "/scale.test.zone", text)
        let db = dir + "/s.sqlite"
        let (irc, iout) = try runTool(Env.bin + "/dnsctl", ["--db", db, "zone", "import", dir + "/scale.test.zone"], dir: dir)
        #expect(irc == 0, "\(iout)")
        let mport = Env.freePort()
        Env.write(dir + "/jamdns.toml", "[metrics]\nlisten = \"127.0.0.1:\(mport)\"\n")
        let (port, child) = try startOnFreePort("jamdns", { port in
            let c = try Child([Env.bin + "/jamdns", "--listen", "127.0.0.1:\(port)", "--db", db, "--config", dir + "/jamdns.toml"], log: dir + "/jamdns.log")
            do { try waitUntilServing(port: port, zone: "scale.test.") } catch { c.stop(); throw error }
            return (port, c)
        }, log: { _ in Env.read(dir + "/jamdns.log") })
        defer { child.stop() }
        func heapFree() -> Double? {
            let (code, body) = httpGet(port: mport, "/metrics")
            guard code == 200, let line = body.split(separator: "\n").first(where: { $0.hasPrefix("jamdns_heap_bytes{state=\"free\"}") }) else { return nil }
            return Double(line.split(separator: " ").last ?? "")
        }
        usleep(1_000_000)
        let before = try #require(heapFree())
        for e in 0..<200 {
            let (rc, out) = try runTool(Env.bin + "/dnsctl", ["--db", db, "record", "add", "e\(e).scale.test", "A", "192.0.2.1"], dir: dir)
            #expect(rc == 0, "\(out)")
        }
        var live = false
        for _ in 0..<600 where !live {
            live = DNSClient.ask("e199.scale.test.", .a, port: port)?.answers.count == 1
            if !live { usleep(50_000) }
        }
        #expect(live)
        usleep(1_500_000)  // the watcher frees the last replaced snapshot on its next tick
        let after = try #require(heapFree())
        print("free heap before and after 200 edits of a 60,000-record zone (bytes): \(before) \(after)")
        // Each edit copies one shard (about 4 KB here). Zones built on another thread than the watcher's left
        // each replaced shard as a hole in that thread's arena: +770 KB free over these 200 edits. Now a few KB.
        #expect(after - before < 300_000, "free heap \(before) -> \(after) bytes")
    }

    @Test("a store in a missing or unwritable directory: exit 1 naming the directory and the fix; a read-only store says so; a stale control socket is not fatal")
    func unopenableStore() throws {
        let dir = Env.tempDir("fault-store")
        chmod(dir, 0o755)
        let (rc, out) = try runTool(Env.bin + "/jamdns", ["--listen", "127.0.0.1:\(Env.freePort())", "--db", dir + "/missing/s.sqlite"], dir: dir)
        #expect(rc == 1 && out.contains("the directory \(dir)/missing does not exist: create it, or set store.path / --db elsewhere"), "\(out)")

        // As an unprivileged user (root ignores file modes): a root-owned directory cannot hold a new store...
        let jamdns = dir + "/jamdns"
        Env.write(jamdns, "")
        let (crc, _) = try runTool("/bin/cp", [Env.bin + "/jamdns", jamdns], dir: dir)
        #expect(crc == 0)
        chmod(jamdns, 0o755)
        mkdir(dir + "/locked", 0o755)
        let (rc2, out2) = try runTool("/usr/sbin/runuser", ["-u", "nobody", "--", jamdns, "--listen", "127.0.0.1:\(Env.freePort())", "--db", dir + "/locked/s.sqlite",
                                                         "--zones", Env.root + "/zones"], dir: dir)
        #expect(rc2 == 1 && out2.contains("is not writable by this user, so the store cannot be created there"), "\(out2)")
        // A store it may only read: the server opens it in WAL mode, which writes; it says so and stops.
        let seed = try startOnFreePort("jamdns", { port in
            let c = try Child([Env.bin + "/jamdns", "--listen", "127.0.0.1:\(port)", "--db", dir + "/locked/s.sqlite", "--zones", Env.root + "/zones"], log: dir + "/seed.log")
            do { try waitUntilAnswering(port: port, zone: nil) } catch { c.stop(); throw error }
            return c
        }, log: { _ in Env.read(dir + "/seed.log") })
        seed.stop()
        // The store is made owner read-write, group read (it will hold TSIG keys): another user cannot read it.
        let (rc4, out4) = try runTool("/usr/sbin/runuser", ["-u", "nobody", "--", jamdns, "--listen", "127.0.0.1:\(Env.freePort())", "--db", dir + "/locked/s.sqlite"], dir: dir)
        #expect(rc4 == 1 && out4.contains("the file is not readable by this user: fix its owner or mode"), "\(out4)")
        chmod(dir + "/locked/s.sqlite", 0o644)
        let (rc3, out3) = try runTool("/usr/sbin/runuser", ["-u", "nobody", "--", jamdns, "--listen", "127.0.0.1:\(Env.freePort())", "--db", dir + "/locked/s.sqlite"], dir: dir)
        #expect(rc3 == 1 && out3.contains("attempt to write a readonly database (\(dir)/locked/s.sqlite or its directory is read-only)"), "\(out3)")

        // A stale control socket it cannot replace (sticky directory, another owner): logged, DNS goes on.
        mkdir(dir + "/shared", 0o755)
        chmod(dir + "/shared", 0o1777)
        Env.write(dir + "/shared/jamdns.ctl", "")
        let (port2, server) = try startOnFreePort("jamdns", { port in
            let c = try Child(["/usr/sbin/runuser", "-u", "nobody", "--", jamdns, "--listen", "127.0.0.1:\(port)", "--db", dir + "/shared/s.sqlite",
                               "--zones", Env.root + "/zones"], log: dir + "/shared.log")
            do { try waitUntilAnswering(port: port, zone: nil) } catch { c.stop(); throw error }
            return (port, c)
        }, log: { _ in Env.read(dir + "/shared.log") })
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: port2)?.answers.count == 1)
        #expect(Env.read(dir + "/shared.log").contains("no control socket, so 'dnsctl cache' and 'dnsctl explain' cannot reach this server"))
        server.stop()
    }

    @Test("a long writer holds the store: queries are still answered, dnsctl fails after its wait with the reason, and works once released")
    func lockedStore() throws {
        let s = try JamdnsServer(zones: Env.root + "/zones")
        let python = try #require(Env.which("python3"))
        // BEGIN IMMEDIATE takes the write lock; the writer sleeps 7 s inside its transaction.
        let locker = try Child([python, "-c", """
            import sqlite3, time
            c = sqlite3.connect('\(s.db)', isolation_level=None)
            c.execute('BEGIN IMMEDIATE')
            c.execute("UPDATE zones SET updated_at = updated_at")
            print('locked', flush=True)
            time.sleep(7)
            c.execute('ROLLBACK')
            """], log: s.dir + "/locker.log")
        for _ in 0..<50 where !Env.read(s.dir + "/locker.log").contains("locked") { usleep(100_000) }
        #expect(Env.read(s.dir + "/locker.log").contains("locked"))
        var answered = 0
        for i in 0..<200 where DNSClient.ask("vs\(i % 3).jamfox.dev.", .a, port: s.port, timeoutMs: 500)?.answers.count == 1 { answered += 1 }
        #expect(answered == 200)
        let start = monotonicMs()
        let (rc, out) = try s.dnsctl(["record", "add", "during", "A", "10.0.0.1"])
        #expect(rc == 1 && out.contains("another process holds a write lock"), "\(out)")
        #expect(monotonicMs() - start >= 4000, "dnsctl should wait for the lock (busy timeout) before giving up")
        #expect(locker.wait(ms: 10_000) == 0)
        let (rc2, out2) = try s.dnsctl(["record", "add", "after", "A", "10.0.0.2"])
        #expect(rc2 == 0, "\(out2)")
        usleep(700_000)
        #expect(DNSClient.ask("after.jamfox.dev.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(10, 0, 0, 2)))
    }

    @Test("kill -9 and restart on the same store: every committed edit is served, the control socket comes back")
    func killAndRestart() throws {
        let dir = Env.tempDir("fault-kill")
        let port = Env.freePort()
        let args = [Env.bin + "/jamdns", "--listen", "127.0.0.1:\(port)", "--db", dir + "/s.sqlite", "--zones", Env.root + "/zones"]
        let first = try Child(args, log: dir + "/1.log")
        try waitUntilAnswering(port: port, zone: nil)
        for i in 1...20 {
            let (rc, _) = try runTool(Env.bin + "/dnsctl", ["--db", dir + "/s.sqlite", "record", "add", "k\(i)", "A", "10.7.0.\(i)"], dir: dir)
            #expect(rc == 0)
            if i == 10 { first.signal(SIGKILL) }
        }
        _ = first.wait(ms: 2000)
        let second = try Child(args, log: dir + "/2.log")
        try waitUntilAnswering(port: port, zone: nil)
        for i in 1...20 {
            #expect(DNSClient.ask("k\(i).jamfox.dev.", .a, port: port)?.answers.first?.rdata == .a(IPv4Address(10, 7, 0, UInt8(i))))
        }
        let (rc, out) = try runTool(Env.bin + "/dnsctl", ["--db", dir + "/s.sqlite", "explain", "k20.jamfox.dev"], dir: dir)
        #expect(rc == 0 && out.contains("10.7.0.20") && !out.contains("not running"), "\(out)")
        second.stop()
    }

    @Test("a flood of random names: the cache and memos stay within their bounds, other clients keep being answered")
    func randomNameFlood() throws {
        let internet = try KnotServer(zones: [("example.test.", Env.root + "/Tests/Fixtures/example.test.zone")])
        let dir = Env.tempDir("fault-flood")
        let mport = Env.freePort()
        Env.write(dir + "/jamdns.toml", """
            [metrics]
            listen = "127.0.0.1:\(mport)"
            [resolver]
            upstreams = ["127.0.0.1:\(internet.port)"]
            cache_size = 2000
            """)
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"])
        usleep(300_000)
        let before = rssKB(s.child.pid)
        // 30,000 queries for names never seen before (half in our zone, half forwarded), sent from one socket
        // at full speed for at most 20 s, answers read as they come.
        final class Flood: @unchecked Sendable { var sent = 0 }
        let flood = Flood()
        let port = s.port
        let t = spawnTestThread {
            let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            defer { close(fd) }
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = inet_addr("127.0.0.1")
            var tv = timeval(tv_sec: 0, tv_usec: 1000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 4096)
            let start = monotonicMs()
            for i in 0..<30_000 where monotonicMs() - start < 20_000 {
                let name = "r\(UInt32.random(in: 0...UInt32.max))-\(i)." + (i % 2 == 0 ? "jamfox.dev." : "example.test.")
                guard let n = try? DNSName(name) else { continue }
                let q = Message.query(n, .a, id: UInt16(truncatingIfNeeded: i)).wireBytes()
                _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, q, q.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
                flood.sent += 1
                while recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT)) > 0 {}
                if i % 64 == 0 { _ = recv(fd, &buf, buf.count, 0) }  // pace a little: a client, not a packet cannon
            }
        }
        // Meanwhile another client asks now and then.
        var answered = 0
        for i in 0..<50 {
            if DNSClient.ask("vs\(i % 3).jamfox.dev.", .a, port: s.port, timeoutMs: 1000)?.answers.count == 1 { answered += 1 }
            usleep(50_000)
        }
        pthread_join(t, nil)
        #expect(answered >= 48, "\(answered) of 50 answered during the flood")
        let text = httpGet(port: mport, "/metrics").1
        let entries = metric(text, "jamdns_cache_entries") ?? -1
        #expect(entries >= 0 && entries <= 2000, "cache entries \(entries) over the 2000 bound")
        #expect((metric(text, "jamdns_cache_evictions_total") ?? 0) > 0, "the flood should have forced evictions")
        let grown = rssKB(s.child.pid) - before
        // Bounds: 2,000 cache entries and 4,096 memo slots per worker, a few KB each at most.
        #expect(grown < 64 * 1024, "RSS grew \(grown) KiB during a flood of \(flood.sent) random names")
    }

    @Test("a flood of TCP connections that never send: memory stays bounded and real TCP and UDP clients are still served")
    func silentTCPFlood() throws {
        let dir = Env.tempDir("fault-tcp")
        let mport = Env.freePort()
        Env.write(dir + "/c.toml", "[server]\ntcp_max_connections = 64\ntcp_idle_timeout_ms = 3000\n[metrics]\nlisten = \"127.0.0.1:\(mport)\"\n")
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/c.toml"])
        let before = rssKB(s.child.pid)
        var silent: [Int32] = []
        defer { for f in silent { close(f) } }
        for _ in 0..<300 { if let fd = DNSClient.connectTCP(port: s.port, timeoutMs: 500) { silent.append(fd) } }
        usleep(700_000)  // the silent ones are now evictable
        // A real client gets in and is answered, over and over, while the silent ones keep coming.
        var served = 0
        for _ in 0..<20 {
            if let fd = DNSClient.connectTCP(port: s.port, timeoutMs: 500) { silent.append(fd) }
            if DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port, tcp: true)?.answers.count == 1 { served += 1 }
            usleep(600_000 / 20)
        }
        #expect(served == 20, "\(served) of 20 TCP queries answered under a silent-connection flood")
        #expect(DNSClient.ask("vs1.jamfox.dev.", .a, port: s.port)?.answers.count == 1)
        let text = httpGet(port: mport, "/metrics").1
        #expect((metric(text, "jamdns_tcp_connections_evicted_total") ?? 0) > 0)
        #expect(rssKB(s.child.pid) - before < 16 * 1024)
    }
}

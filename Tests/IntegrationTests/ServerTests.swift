import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The real jamdns binary on loopback, queried with our codec, dig and kdig.
@Suite(.serialized) struct ServerTests {
    static let zones = Env.root + "/zones"

    @Test("dig and kdig get the lab's names, over UDP and TCP")
    func digAndKdig() throws {
        let s = try JamdnsServer(zones: Self.zones)
        let dig = try #require(Env.which("dig"))
        let (rc, out) = try runTool(dig, ["@127.0.0.1", "-p", "\(s.port)", "+short", "vs0.jamfox.dev"], dir: s.dir)
        #expect(rc == 0 && out.trimmingWhitespace == "192.168.10.130")
        let (rc2, out2) = try runTool(dig, ["@127.0.0.1", "-p", "\(s.port)", "+short", "+tcp", "grafana.jamfox.dev"], dir: s.dir)
        #expect(rc2 == 0 && out2.trimmingWhitespace == "192.168.10.80")
        let kdig = try #require(Env.which("kdig"))
        let (rc3, out3) = try runTool(kdig, ["@127.0.0.1", "-p", "\(s.port)", "+short", "jamfox.dev", "SOA"], dir: s.dir)
        #expect(rc3 == 0 && out3.contains("rpi0.jamfox.dev. hostmaster.jamfox.dev."))
    }

    @Test("a dnsctl edit is live within a second, and no query is lost while edits happen")
    func liveEditsWithoutLoss() throws {
        let s = try JamdnsServer(zones: Self.zones)
        #expect(DNSClient.ask("fresh.jamfox.dev.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(192, 168, 10, 80)))
        let (rc, out) = try s.dnsctl(["record", "add", "fresh", "A", "10.1.2.3"])
        #expect(rc == 0, "\(out)")
        var seen = false
        let start = monotonicMs()
        while monotonicMs() - start < 1000 {
            if DNSClient.ask("fresh.jamfox.dev.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(10, 1, 2, 3)) {
                seen = true
                break
            }
            usleep(20_000)
        }
        #expect(seen, "edit not served within 1 s")
        // Edits in the background while 2000 queries go out one by one: every one is answered.
        let editor = try Child(["/bin/sh", "-c", "for i in $(seq 1 15); do \(Env.bin)/dnsctl record add --db \(s.db) e$i A 10.9.0.$i >/dev/null; done"], log: s.dir + "/editor.log")
        var lost = 0
        for i in 0..<2000 where DNSClient.ask("vs\(i % 3).jamfox.dev.", .a, port: s.port) == nil { lost += 1 }
        #expect(lost == 0)
        #expect(editor.wait(ms: 30_000) == 0)
        usleep(600_000)
        #expect(DNSClient.ask("e15.jamfox.dev.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(10, 9, 0, 15)))
        #expect(DNSClient.ask("jamfox.dev.", .soa, port: s.port)?.answers.first?.rdata.soa?.serial ?? 0 > 2026112100)
    }

    @Test("TCP: pipelined queries on one connection all answered (RFC 7766 §6.2.1.1)")
    func tcpPipelining() throws {
        let s = try JamdnsServer(zones: Self.zones)
        let fd = try #require(DNSClient.connectTCP(port: s.port))
        defer { close(fd) }
        var batch: [UInt8] = []
        for i in 0..<50 {
            let q = Message.query(try DNSName("vs\(i % 3).jamfox.dev."), .a, id: UInt16(1000 + i)).wireBytes()
            batch += [UInt8(q.count >> 8), UInt8(q.count & 0xFF)] + q
        }
        _ = batch.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var ids: Set<UInt16> = []
        for _ in 0..<50 {
            let r = try #require(DNSClient.readFrame(fd))
            let m = try Message.parse(r)
            #expect(m.answers.count == 1)
            ids.insert(m.header.id)
        }
        #expect(ids == Set((0..<50).map { UInt16(1000 + $0) }))
    }

    @Test("TCP: idle connections are closed, and the connection limit holds")
    func tcpIdleAndLimit() throws {
        let dir = Env.tempDir("tcpcfg")
        Env.write(dir + "/c.toml", "[server]\ntcp_idle_timeout_ms = 400\ntcp_max_connections = 4\ntcp_max_per_prefix = 4\n")
        let s = try JamdnsServer(zones: Self.zones, extraArgs: ["--config", dir + "/c.toml"])
        let idle = try #require(DNSClient.connectTCP(port: s.port))
        defer { close(idle) }
        usleep(1_000_000)
        var b: UInt8 = 0
        #expect(recv(idle, &b, 1, 0) == 0, "idle connection still open after 1 s")
        var fds: [Int32] = []
        for _ in 0..<8 { if let fd = DNSClient.connectTCP(port: s.port) { fds.append(fd) } }
        defer { for f in fds { close(f) } }
        usleep(200_000)
        var served = 0
        let q = Message.query(try DNSName("vs0.jamfox.dev."), .a, id: 9).wireBytes()
        for fd in fds {
            DNSClient.sendFrame(fd, q)
            if DNSClient.readFrame(fd) != nil { served += 1 }
        }
        #expect(served == 4, "\(served) connections served with a limit of 4")
        // Other clients still get UDP answers.
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port) != nil)
    }

    @Test("SIGTERM stops the server cleanly with status 0")
    func sigterm() throws {
        let s = try JamdnsServer(zones: Self.zones)
        s.child.signal(SIGTERM)
        #expect(s.child.wait(ms: 3000) == 0)
        #expect(Env.read(s.child.log).contains("stopped"))
    }

    @Test("a bad config is refused with its line; a busy port names the likely culprit")
    func startupErrors() throws {
        let dir = Env.tempDir("badcfg")
        Env.write(dir + "/bad.toml", "[server]\nlisten = [\"127.0.0.1:53\"]\nbogus = 1\n")
        let (rc, out) = try runTool(Env.bin + "/jamdns", ["--config", dir + "/bad.toml", "--db", dir + "/s.sqlite"], dir: dir)
        #expect(rc != 0 && out.contains("bad.toml:3: unknown key 'bogus' in [server]"), "\(out)")
        let s = try JamdnsServer(zones: Self.zones)
        let (rc2, out2) = try runTool(Env.bin + "/jamdns", ["--listen", "127.0.0.1:\(s.port)", "--db", dir + "/t.sqlite", "--zones", Self.zones], dir: dir)
        _ = rc2
        // SO_REUSEPORT lets a second process bind the same UDP port only as the same user; TCP then fails or
        // both run. Either way the message must be clear when it fails.
        if rc2 != 0 { #expect(out2.contains("already listening") || out2.contains("in use"), "\(out2)") }
    }

    @Test("SIGHUP reloads the zones")
    func sighup() throws {
        let s = try JamdnsServer(zones: Self.zones)
        s.child.signal(SIGHUP)
        usleep(800_000)
        #expect(Env.read(s.child.log).contains("zones reloaded"))
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port) != nil)
    }
}

func monotonicMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

/// `jamdns check-config`: validation without starting anything.
@Suite struct CheckConfigTests {
    @Test("a valid config exits 0 and says what it would do; a broken one exits 1 naming the line")
    func checkConfig() throws {
        let dir = Env.tempDir("check")
        // The shipped example, with its store put where this machine has a directory (check-config also checks
        // that the store's directory exists, which /var/lib/jamdns does only on an installed Pi).
        let shipped = Env.read(Env.root + "/systemd/jamdns.toml")
        #expect(shipped.contains("/var/lib/jamdns/jamdns.sqlite"))
        Env.write(dir + "/jamdns.toml", shipped.replacing("/var/lib/jamdns/jamdns.sqlite", with: dir + "/jamdns.sqlite"))
        let (rc, out) = try runTool(Env.bin + "/jamdns", ["check-config", dir + "/jamdns.toml"], dir: dir)
        #expect(rc == 0 && out.contains("valid") && out.contains("2 forward zone(s)"), "\(out)")
        let (rc1, out1) = try runTool(Env.bin + "/jamdns", ["check-config", Env.root + "/systemd/jamdns.toml"], dir: dir)
        #expect(access("/var/lib/jamdns", F_OK) == 0 || (rc1 == 1 && out1.contains("the directory /var/lib/jamdns does not exist")), "\(out1)")
        Env.write(dir + "/bad.toml", "[server]\nlisten = [\"1.2.3.4\"]\n")
        let (rc2, out2) = try runTool(Env.bin + "/jamdns", ["check-config", dir + "/bad.toml"], dir: dir)
        #expect(rc2 == 1 && out2.contains("bad.toml:2: bad listen address \"1.2.3.4\""), "\(out2)")
        let (rc3, _) = try runTool(Env.bin + "/jamdns", ["check-config", dir + "/missing.toml"], dir: dir)
        #expect(rc3 == 1)
    }
}

import DNSWire
import Testing
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Every byte from the network is untrusted: floods of garbage and mutated queries must not crash, hang or
/// wedge the server, and ordinary clients keep getting answers. Bounded in count and time.
@Suite(.serialized) struct HostileInputTests {
    @Test("20,000 random and mutated datagrams, then normal service")
    func udpGarbage() throws {
        let s = try JamdnsServer(zones: Env.root + "/zones")
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = s.port.bigEndian
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        let base = Message.query(try DNSName("vs0.jamfox.dev."), .a).wireBytes()
        var rng = SeededRandom(default: 0xDA7A_6A4B)
        for i in 0..<20_000 {
            var p: [UInt8]
            if i % 2 == 0 {
                p = (0..<Int.random(in: 0...600, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                p = base
                for _ in 0..<Int.random(in: 1...6, using: &rng) { p[Int.random(in: 0..<p.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                if Bool.random(using: &rng) { p += (0..<Int.random(in: 0...40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) } }
            }
            _ = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, p, p.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if i % 500 == 0 { usleep(1000) }  // stay under the socket buffer, so the server sees them all
        }
        #expect(kill(s.child.pid, 0) == 0, "server died (seed \(rng.seed))")
        for _ in 0..<20 { #expect(DNSClient.ask("vs1.jamfox.dev.", .a, port: s.port)?.answers.count == 1) }
    }

    @Test("garbage and oversized TCP frames, half-open and silent connections, then normal service")
    func tcpGarbage() throws {
        let s = try JamdnsServer(zones: Env.root + "/zones")
        var rng = SeededRandom(default: 0x7C9_6A4B)
        for i in 0..<200 {
            guard let fd = DNSClient.connectTCP(port: s.port) else { continue }
            var junk = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 3 == 0 { junk = [0xFF, 0xFF] + junk }  // claims a 65535-byte frame and never finishes it
            _ = junk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if i % 2 == 0 { shutdown(fd, Int32(SHUT_WR)) }
            close(fd)
        }
        #expect(kill(s.child.pid, 0) == 0, "server died (seed \(rng.seed))")
        #expect(DNSClient.ask("vs2.jamfox.dev.", .a, port: s.port, tcp: true)?.answers.count == 1)
        #expect(DNSClient.ask("vs2.jamfox.dev.", .a, port: s.port)?.answers.count == 1)
    }

    /// Clients that each declare a 65,535-byte message and send one byte every 0.4 s (reconnecting when
    /// closed), from the given source addresses, while legitimate clients ask over TCP every 100 ms for 4 s.
    /// Returns each legitimate probe's latency in ms (nil: not answered).
    static func trickle(port: UInt16, attackers: [String], legit: [String]) -> [String: [Int?]] {
        var fds: [(fd: Int32, from: String)] = []
        func open(_ from: String) -> Int32? {
            guard let fd = DNSClient.connectTCP(port: port, timeoutMs: 200, from: from) else { return nil }
            _ = [UInt8]([0xFF, 0xFF, 0]).withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            return fd
        }
        for a in attackers { if let fd = open(a) { fds.append((fd, a)) } }
        defer { for f in fds { close(f.fd) } }
        var latencies: [String: [Int?]] = [:]
        let q = Message.query(try! DNSName("vs0.jamfox.dev."), .a, id: 77).wireBytes()
        for tick in 0..<40 {
            if tick % 4 == 0 {
                // One more byte each; a connection the server closed is opened again, as an attacker would.
                for i in fds.indices {
                    var b: UInt8 = 0
                    if send(fds[i].fd, &b, 1, Int32(MSG_NOSIGNAL)) != 1 || recv(fds[i].fd, &b, 1, Int32(MSG_DONTWAIT)) == 0 {
                        close(fds[i].fd)
                        fds[i].fd = open(fds[i].from) ?? -1
                    }
                }
            }
            for l in legit {
                let t0 = monotonicMs()
                let answered = DNSClient.tcp(q, port: port, from: l).flatMap { try? Message.parse($0) }?.answers.count == 1
                latencies[l, default: []].append(answered ? Int(monotonicMs() - t0) : nil)
            }
            usleep(100_000)
        }
        return latencies
    }

    @Test("trickling TCP clients cannot lock others out: from one address, from one /24, from several /24s at the limit",
          arguments: ["one address", "one /24", "four /24s"])
    func slowLoris(from pattern: String) throws {
        let dir = Env.tempDir("loris")
        let mport = Env.freePort()
        // 64 slots, 16 per network: four /24s of tricklers fill every slot.
        Env.write(dir + "/c.toml", "[server]\ntcp_max_connections = 64\n[metrics]\nlisten = \"127.0.0.1:\(mport)\"\n")
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/c.toml"])
        let attackers: [String]
        switch pattern {
        case "one address": attackers = Array(repeating: "127.0.0.1", count: 96)
        case "one /24": attackers = (1...96).map { "127.0.0.\($0)" }
        default: attackers = (0..<96).map { "127.0.\(1 + $0 % 4).\(1 + $0 / 4)" }
        }
        let probes = Self.trickle(port: s.port, attackers: attackers, legit: ["127.0.0.200", "127.0.9.9"])
        for (client, results) in probes.sorted(by: { $0.key < $1.key }) {
            let answered = results.compactMap { $0 }
            #expect(answered.count == results.count, "\(client): \(answered.count) of \(results.count) answered")
            // The target is 100 ms; the bound leaves room for a busy test machine.
            #expect((answered.max() ?? 0) < 1000, "\(client): slowest \(answered.max() ?? -1) ms")
            print("slow-loris \(pattern): \(client) answered \(answered.count)/\(results.count), median \(answered.isEmpty ? -1 : answered.sorted()[answered.count / 2]) ms, max \(answered.max() ?? -1) ms")
        }
        let text = httpGet(port: mport, "/metrics").1
        #expect((metric(text, "jamdns_tcp_connections_evicted_total") ?? 0) + (metric(text, "jamdns_tcp_slow_frames_total") ?? 0) > 0)
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port)?.answers.count == 1, "UDP unaffected")
    }

    @Test("a message that does not arrive whole within tcp_frame_timeout_ms closes its connection, however often bytes come")
    func frameDeadline() throws {
        let dir = Env.tempDir("frame")
        let mport = Env.freePort()
        Env.write(dir + "/c.toml", "[server]\ntcp_frame_timeout_ms = 300\ntcp_idle_timeout_ms = 60000\n[metrics]\nlisten = \"127.0.0.1:\(mport)\"\n")
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/c.toml"])
        let fd = try #require(DNSClient.connectTCP(port: s.port))
        defer { close(fd) }
        var closed = false
        var b: [UInt8] = [0xFF, 0xFF]
        _ = send(fd, &b, 2, Int32(MSG_NOSIGNAL))
        for _ in 0..<30 where !closed {  // a byte every 100 ms for up to 3 s: each one would refresh an idle timer
            usleep(100_000)
            var one: UInt8 = 0
            closed = send(fd, &one, 1, Int32(MSG_NOSIGNAL)) != 1 || recv(fd, &one, 1, Int32(MSG_DONTWAIT)) == 0
        }
        #expect(closed, "the trickling connection is still open")
        #expect(metric(httpGet(port: mport, "/metrics").1, "jamdns_tcp_slow_frames_total") == 1)
        // A client that sends its message whole is unaffected.
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port, tcp: true)?.answers.count == 1)
    }

    @Test("IPv6: the server answers on [::1] over UDP and TCP")
    func ipv6() throws {
        let port = Env.freePort()
        let dir = Env.tempDir("v6")
        let c = try Child([Env.bin + "/jamdns", "--listen", "[::1]:\(port)", "--listen", "127.0.0.1:\(port)", "--db", dir + "/s.sqlite", "--zones", Env.root + "/zones"], log: dir + "/log")
        _ = c
        try waitUntilAnswering(port: port, zone: nil)
        let dig = try #require(Env.which("dig"))
        let (rc, out) = try runTool(dig, ["@::1", "-p", "\(port)", "+short", "vb1.jamfox.dev"], dir: dir)
        #expect(rc == 0 && out.trimmingWhitespace == "192.168.10.121", "\(out)")
        let (rc2, out2) = try runTool(dig, ["@::1", "-p", "\(port)", "+short", "+tcp", "vb2.jamfox.dev"], dir: dir)
        #expect(rc2 == 0 && out2.trimmingWhitespace == "192.168.10.122", "\(out2)")
    }
}

import DNSWire
import Testing

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
        var rng = SystemRandomNumberGenerator()
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
        #expect(kill(s.child.pid, 0) == 0, "server died")
        for _ in 0..<20 { #expect(DNSClient.ask("vs1.jamfox.dev.", .a, port: s.port)?.answers.count == 1) }
    }

    @Test("garbage and oversized TCP frames, half-open and silent connections, then normal service")
    func tcpGarbage() throws {
        let s = try JamdnsServer(zones: Env.root + "/zones")
        var rng = SystemRandomNumberGenerator()
        for i in 0..<200 {
            guard let fd = DNSClient.connectTCP(port: s.port) else { continue }
            var junk = (0..<Int.random(in: 0...3000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if i % 3 == 0 { junk = [0xFF, 0xFF] + junk }  // claims a 65535-byte frame and never finishes it
            _ = junk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if i % 2 == 0 { shutdown(fd, Int32(SHUT_WR)) }
            close(fd)
        }
        #expect(kill(s.child.pid, 0) == 0, "server died")
        #expect(DNSClient.ask("vs2.jamfox.dev.", .a, port: s.port, tcp: true)?.answers.count == 1)
        #expect(DNSClient.ask("vs2.jamfox.dev.", .a, port: s.port)?.answers.count == 1)
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

import DDNS

#if canImport(Glibc)
import Glibc
#endif
import Testing

/// Detection by DNS, through c-ares, against peers on loopback: knotd serving opendns.com's myip name, and a
/// small responder for whoami.cloudflare in class CH.
@Suite(.serialized) struct DNSDetectionTests {
    @Test("myip.opendns.com A asked of the service directly")
    func opendns() throws {
        let dir = Env.tempDir("opendns")
        Env.write(dir + "/opendns.com.zone", "$ORIGIN opendns.com.\n$TTL 0\n@ SOA ns h 1 1 1 1 0\n@ NS ns\nns A 192.0.2.1\nmyip A 203.0.114.9\n")
        let knot = try KnotServer(zones: [("opendns.com.", dir + "/opendns.com.zone")])
        let d = Detector(policy: AddressPolicy())
        let (a, failures) = d.detect([.dns(service: .myipOpenDNS, server: "127.0.0.1#\(knot.port)")], family: .v4)
        #expect(a?.description == "203.0.114.9", "\(failures)")
        // A v6 server for a v4 probe is refused: the answer would be about the wrong family.
        let (b, f2) = d.detect([.dns(service: .myipOpenDNS, server: "[::1]:\(knot.port)")], family: .v4)
        #expect(b == nil && f2.first?.contains("not IPv4") == true, "\(f2)")
    }

    @Test("whoami.cloudflare TXT in class CH; a dead server falls through to the next method")
    func whoami() throws {
        let dir = Env.tempDir("whoami")
        let child = try Child(["/usr/bin/env", "python3", Env.root + "/Tests/Fixtures/fake_whoami.py", "--port-file", dir + "/port"], log: dir + "/log")
        _ = child
        var port = 0
        for _ in 0..<100 where port == 0 {
            usleep(50_000)
            port = Int(Env.read(dir + "/port").trimmingWhitespace) ?? 0
        }
        let d = Detector(policy: AddressPolicy())
        let (a, failures) = d.detect([.dns(service: .whoamiCloudflare, server: "127.0.0.1:9"), .dns(service: .whoamiCloudflare, server: "127.0.0.1#\(port)")], family: .v4)
        #expect(a?.description == "203.0.114.10", "\(failures)")
        #expect(failures.count == 1)
    }

    @Test("IPv6 from the interface: the stable global address, not the temporary, deprecated, ULA or link-local ones")
    func interfaceIPv6() throws {
        let dir = Env.tempDir("ifinet6")
        Env.write(dir + "/if_inet6", """
            fe800000000000000211223344556677 02 40 20 80     eth0
            fd001234000000000211223344556677 02 40 00 00     eth0
            2a0100000000000011112222333344f1 02 40 00 01     eth0
            2a010000000000000211223344556677 02 40 00 20     eth0
            2a010000000000000211223344550001 02 40 00 80     eth0

            """)
        let d = Detector(policy: AddressPolicy(), ifInet6Path: dir + "/if_inet6")
        let (a, failures) = d.detect([.interface(name: "eth0")], family: .v6)
        #expect(a?.description == "2a01::211:2233:4455:1", "\(failures)")
        let (none, why) = d.detect([.interface(name: "wg0")], family: .v6)
        #expect(none == nil && why.first?.contains("no stable global IPv6") == true)
    }
}

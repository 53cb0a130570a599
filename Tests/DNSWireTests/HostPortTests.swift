import Testing
import DNSWire

/// The one IP:port parser: listen addresses, upstreams (with dnsmasq's #PORT), the metrics endpoint.
@Suite struct HostPortTests {
    @Test("forms accepted and refused")
    func forms() {
        #expect(HostPort("192.0.2.1:53")?.description == "192.0.2.1:53")
        #expect(HostPort("[2001:db8::1]:5300")?.description == "[2001:db8::1]:5300")
        #expect(HostPort("192.0.2.1") == nil, "a port is required unless there is a default")
        #expect(HostPort("192.0.2.1", defaultPort: 53)?.port == 53)
        #expect(HostPort("2001:db8::1", defaultPort: 53)?.isIPv6 == true)
        #expect(HostPort("192.0.2.1#5353", defaultPort: 53, hashPort: true)?.port == 5353)
        #expect(HostPort("192.0.2.1#5353", defaultPort: 53) == nil, "#PORT only where dnsmasq's form is meant")
        for bad in ["192.0.2.300:53", "[2001:db8::1]", "[::1]:x", "host:53", "1.2.3.4:53:54", "1.2.3.4:70000", ""] {
            #expect(HostPort(bad) == nil, "\(bad)")
        }
    }
}

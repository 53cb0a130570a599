import DNSWire
import Testing
@testable import DDNS

@Suite struct DetectionTests {
    static let trace = """
        fl=465f123
        h=cloudflare.com
        ip=203.0.114.7
        ts=1732200000.123
        visit_scheme=https
        uag=curl/7.88.1
        colo=ARN
        sliver=none
        http=http/2
        loc=EE
        tls=TLSv1.3
        sni=plaintext
        warp=off
        gateway=off
        rbi=off
        kex=X25519
        """

    @Test func traceGivesTheAddress() throws {
        #expect(try Detection.parseTrace(Self.trace, expectedHost: "cloudflare.com") == "203.0.114.7")
        #expect(try Detection.parseTrace(Self.trace.replacingAll("\n", "\r\n"), expectedHost: "CloudFlare.com") == "203.0.114.7")
    }

    @Test("trace through WARP, for another host, or without ip= is refused")
    func traceRefusals() {
        #expect(throws: AddressRejection.self) { try Detection.parseTrace(Self.trace.replacingAll("warp=off", "warp=on"), expectedHost: "cloudflare.com") }
        #expect(throws: AddressRejection.self) { try Detection.parseTrace(Self.trace.replacingAll("warp=off", "warp=plus"), expectedHost: "cloudflare.com") }
        #expect(throws: AddressRejection.self) { try Detection.parseTrace(Self.trace, expectedHost: "one.one.one.one") }
        #expect(throws: AddressRejection.self) { try Detection.parseTrace(Self.trace.replacingAll("ip=203.0.114.7", ""), expectedHost: "cloudflare.com") }
        #expect(throws: AddressRejection.self) { try Detection.parseTrace("<html>captive portal</html>", expectedHost: "cloudflare.com") }
    }

    @Test func echo() throws {
        #expect(try Detection.parseEcho("93.184.216.34\n") == "93.184.216.34")
        #expect(throws: AddressRejection.self) { try Detection.parseEcho("<html><body>hello</body></html>") }
        #expect(throws: AddressRejection.self) { try Detection.parseEcho("") }
        #expect(throws: AddressRejection.self) { try Detection.parseEcho("1.2.3.4 5.6.7.8") }
    }

    static let ifInet6 = """
        00000000000000000000000000000001 01 80 10 80       lo
        fe800000000000000211223344556677 02 40 20 80     eth0
        fd001234000000000211223344556677 02 40 00 00     eth0
        2a0100000000000011112222333344f1 02 40 00 01     eth0
        2a010000000000000211223344556677 02 40 00 20     eth0
        2a01000000000000deadbeefcafe0001 02 40 00 40     eth0
        2a010000000000000211223344550001 02 40 00 80     eth0
        2a02000000000000000000000000abcd 03 40 00 80     wg0
        """

    @Test("IPv6 from an interface: stable global only (no temporary, deprecated, tentative, ULA or link-local)")
    func interfaceChoice() throws {
        let addrs = Detection.parseIfInet6(Self.ifInet6)
        #expect(addrs.count == 8)
        #expect(addrs[3].isStable == false && addrs[4].isStable == false && addrs[5].isStable == false)
        let pick = try #require(Detection.pickInterfaceIPv6(addrs, interface: "eth0", policy: AddressPolicy()))
        #expect(pick.description == "2a01::211:2233:4455:1")
        #expect(Detection.pickInterfaceIPv6(addrs, interface: "wg0", policy: AddressPolicy())?.description == "2a02::abcd")
        #expect(Detection.pickInterfaceIPv6(addrs, interface: "lo", policy: AddressPolicy()) == nil)
    }

    @Test("Namecheap XML: success, errors, and garbage")
    func namecheap() throws {
        let ok = """
            <?xml version="1.0" encoding="utf-16"?>
            <interface-response><Command>SETDNSHOST</Command><Language>eng</Language><IP>203.0.114.7</IP><ErrCount>0</ErrCount><errors /><ResponseCount>0</ResponseCount><responses /><Done>true</Done><debug><![CDATA[]]></debug></interface-response>
            """
        let r = try NamecheapResponse.parse(ok)
        #expect(r.errCount == 0 && r.errors.isEmpty && r.ip == "203.0.114.7")
        let bad = """
            <?xml version="1.0" encoding="utf-16"?>
            <interface-response><Command>SETDNSHOST</Command><ErrCount>2</ErrCount><errors><Err1>Passwords do not match</Err1><Err2>Domain name not found &amp; other</Err2></errors><Done>true</Done></interface-response>
            """
        let e = try NamecheapResponse.parse(bad)
        #expect(e.errCount == 2 && e.errors == ["Passwords do not match", "Domain name not found & other"])
        #expect(throws: NamecheapError.self) { try NamecheapResponse.parse("<html>502 Bad Gateway</html>") }
        #expect(throws: NamecheapError.self) { try NamecheapResponse.parse("<interface-response><Done>true</Done></interface-response>") }
    }
}

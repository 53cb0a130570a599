import Testing
@testable import DNSWire

@Suite struct RDataPresentationTests {
    static let origin = try! DNSName("example.test.")

    static func tokens(_ s: String) -> [TextToken] {
        // Whitespace split with "quoted strings" kept together (enough for these tables).
        var out: [TextToken] = []
        var cur: [UInt8] = []
        var quoted = false, inQ = false
        for c in s.utf8 {
            if c == UInt8(ascii: "\"") { inQ.toggle(); if cur.isEmpty { quoted = true }; continue }
            if c == 0x20 && !inQ {
                if !cur.isEmpty || quoted { out.append(TextToken(cur, quoted: quoted)) }
                cur = []
                quoted = false
                continue
            }
            cur.append(c)
        }
        if !cur.isEmpty || quoted { out.append(TextToken(cur, quoted: quoted)) }
        return out
    }

    static let table: [(RRType, String, String)] = [
        (.a, "192.0.2.1", "192.0.2.1"),
        (.aaaa, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
        (.aaaa, "::ffff:192.0.2.1", "::ffff:c000:201"),
        (.ns, "ns1", "ns1.example.test."),
        (.cname, "@", "example.test."),
        (.ptr, "host", "host.example.test."),
        (.dname, "Other.Test.", "Other.Test."),
        (.hinfo, #""ARM64" Linux"#, #""ARM64" "Linux""#),
        (.cds, "12345 13 2 2BB183AF", "12345 13 2 2BB183AF"),
        (.cdnskey, "257 3 13 AQID", "257 3 13 AQID"),
        (.soa, "ns1 hostmaster 1 1h 10m 2w 300", "ns1.example.test. hostmaster.example.test. 1 3600 600 1209600 300"),
        (.mx, "10 mail", "10 mail.example.test."),
        (.txt, #""v=spf1 -all" \065\\"#, #""v=spf1 -all" "A\\""#),
        (.srv, "10 60 5060 sip.example.", "10 60 5060 sip.example."),
        (.caa, #"0 issue "letsencrypt.org""#, #"0 issue "letsencrypt.org""#),
        (.naptr, #"100 10 "S" "SIP+D2U" "" _sip._udp"#, #"100 10 "S" "SIP+D2U" "" _sip._udp.example.test."#),
        (.sshfp, "4 2 abcdef01", "4 2 ABCDEF01"),
        (.tlsa, "3 1 1 0c72ac70", "3 1 1 0C72AC70"),
        (.https, #"1 . alpn="h2,h3" port=8443 ipv4hint=192.0.2.1,192.0.2.2"#, #"1 . alpn="h2,h3" port=8443 ipv4hint=192.0.2.1,192.0.2.2"#),
        (.svcb, "0 www", "0 www.example.test."),
        (.ds, "12345 13 2 2BB183AF", "12345 13 2 2BB183AF"),
        (.ds, "12345 ECDSAP256SHA256 2 2BB183AF", "12345 13 2 2BB183AF"),
        (.dnskey, "257 3 13 AQID", "257 3 13 AQID"),
        (.rrsig, "A 13 2 300 20260101000000 20251201000000 12345 example.test. AQID", "A 13 2 300 20260101000000 20251201000000 12345 example.test. AQID"),
        (.nsec, "a.example.test. A MX RRSIG NSEC TYPE1234", "a.example.test. A MX RRSIG NSEC TYPE1234"),
        (RRType(65280), ##"\# 4 0a000001"##, ##"\# 4 0a000001"##),
        (.a, ##"\# 4 c0000201"##, "192.0.2.1"),
    ]

    @Test("parse → print gives canonical text; print → parse → wire is stable", arguments: 0..<table.count)
    func roundTrip(index: Int) throws {
        let (type, input, expected) = Self.table[index]
        let rd = try RData.parse(type: type, tokens: Self.tokens(input), origin: Self.origin)
        #expect(rd.presentation == expected)
        #expect(rd.type == type)
        let again = try RData.parse(type: type, tokens: Self.tokens(expected), origin: Self.origin)
        #expect(again == rd)
        var r = WireReader(rd.wireBytes())
        #expect(try RData.read(type: type, from: &r, length: r.remaining) == rd)
    }

    @Test("a value knows its type: the same target as NS and as PTR are different RDATA")
    func valueKnowsItsType() throws {
        let target = try DNSName("Host.Example.Test.")
        #expect(RData.ns(target) != RData.ptr(target))
        #expect(RData.pointing(.dname, to: target) == .dname(target))
        #expect(RData.pointing(.mx, to: target) == nil)
        #expect(RData.unknown(RRType(65280), [1]).type == RRType(65280))
        var r = WireReader([])
        #expect(try RData.read(type: .a, from: &r, length: 0) == .unknown(.a, []))
    }

    @Test("canonical form lowercases the names RFC 4034 §6.2 lists, and not NSEC's next name (RFC 6840 §5.1)")
    func canonicalForm() throws {
        let upper = try DNSName("MAIL.Example.TEST.")
        let lower = Array(try DNSName("mail.example.test.").wire)
        #expect(RData.mx(MX(preference: 1, exchange: upper)).wireBytes(canonical: true) == [0, 1] + lower)
        #expect(RData.cname(upper).wireBytes(canonical: true) == lower)
        #expect(RData.cname(upper).wireBytes() == upper.wire)
        #expect(RData.nsec(NSEC(next: upper, types: [])).wireBytes(canonical: true) == upper.wire)
    }

    @Test("only RFC 1035 types compress the names in their RDATA (RFC 3597 §4)")
    func compression() throws {
        let owner = try DNSName("example.test.")
        func written(_ rd: RData) -> [UInt8] {
            var w = WireWriter()
            w.name(owner)
            let mark = w.count
            rd.write(to: &w)
            return Array(w.bytes[mark...])
        }
        #expect(written(.ns(owner)) == [0xC0, 0])
        #expect(written(.dname(owner)) == owner.wire)
        #expect(written(.srv(SRV(priority: 0, weight: 0, port: 53, target: owner))) == [0, 0, 0, 0, 0, 53] + owner.wire)
    }

    static let rejects: [(RRType, String)] = [
        (.a, "192.0.2"), (.a, "192.0.2.256"), (.a, "01.2.3.4"), (.aaaa, "1::2::3"), (.mx, "x mail"),
        (.mx, "10"), (.txt, #"\256"#), (.srv, "1 2 70000 t"), (.caa, #"0 is-sue "x""#), (.sshfp, "4 2 xyz"),
        (.dnskey, "257 3 13 !!!!"), (RRType(65280), ##"\# 4 0a0000"##), (RRType(65280), "plain"), (.a, "1.2.3.4 extra"),
        (.https, "1 . port=x"), (.https, "0 . alpn=h2"), (.https, "1 . port=1 port=2"), (.a, ##"\# 3 010203"##),
    ]

    @Test("malformed RDATA is rejected with a message", arguments: 0..<rejects.count)
    func rejectsBadRDATA(index: Int) {
        let (type, input) = Self.rejects[index]
        #expect(throws: PresentationError.self) { try RData.parse(type: type, tokens: Self.tokens(input), origin: Self.origin) }
    }

    @Test func durations() {
        #expect(parseDuration(Array("1h30m".utf8)) == 5400)
        #expect(parseDuration(Array("2w".utf8)) == 1_209_600)
        #expect(parseDuration(Array("10".utf8)) == 10)
        #expect(parseDuration(Array("1x".utf8)) == nil)
        #expect(parseDuration(Array("h".utf8)) == nil)
    }

    @Test func ipv6TextForms() {
        #expect(IPv6Address("::")?.description == "::")
        #expect(IPv6Address("1::")?.description == "1::")
        #expect(IPv6Address("2001:db8:0:1:1:1:1:1")?.description == "2001:db8:0:1:1:1:1:1")
        #expect(IPv6Address("2001:0:0:1:0:0:0:1")?.description == "2001:0:0:1::1")
        #expect(IPv6Address("1:2:3:4:5:6:7:8:9") == nil)
        #expect(IPv6Address(":1") == nil)
    }

    @Test("an IPv6 address held as two halves gives the same bytes, text and wire as the 16 bytes it came from")
    func ipv6Halves() throws {
        let bytes: [UInt8] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0x01, 0x80, 0, 0, 0, 0, 0, 0xab, 0xff]
        let a = IPv6Address(bytes: bytes)
        #expect(a.high == 0x2001_0db8_0000_0001 && a.low == 0x8000_0000_0000_abff)
        #expect(a.bytes == bytes && a.description == "2001:db8:0:1:8000::abff" && IPv6Address(a.description) == a)
        #expect(RData.aaaa(a).wireBytes() == bytes)
        var r = WireReader(bytes)
        #expect(try RData.read(type: .aaaa, from: &r, length: 16) == .aaaa(a))
    }
}

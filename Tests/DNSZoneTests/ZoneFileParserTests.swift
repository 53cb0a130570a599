import DNSWire
import Testing
@testable import DNSZone

@Suite struct ZoneFileParserTests {
    func parse(_ text: String, origin: String = "example.test.") throws -> [ResourceRecord] {
        var p = ZoneFileParser(text: text, file: "t.zone", origin: try DNSName(origin))
        return try p.all().map(\.record)
    }

    func error(_ text: String) -> ZoneParseError? {
        do { _ = try parse(text); return nil } catch { return error as? ZoneParseError }
    }

    @Test func directivesRelativeNamesAndOmittedFields() throws {
        let rrs = try parse("""
            $TTL 1h
            @ IN SOA ns1 hostmaster ( 1 ; serial
                    3600 600 1209600 300 )
              NS ns1          ; owner omitted: previous owner (@)
            www 300 A 192.0.2.1
                IN 600 AAAA 2001:db8::1   ; class before TTL
            $ORIGIN sub.example.test.
            a A 192.0.2.2
            """)
        #expect(rrs.count == 5)
        #expect(rrs[0].type == .soa && rrs[0].ttl == 3600)
        #expect(try rrs[1].name == (try DNSName("example.test.")) && rrs[1].rdata == .ns(try DNSName("ns1.example.test.")))
        #expect(rrs[2].ttl == 300)
        #expect(rrs[3].name == (try DNSName("www.example.test.")) && rrs[3].ttl == 600)
        #expect(rrs[4].name.description == "a.sub.example.test.")
    }

    @Test func quotedStringsEscapesAndComments() throws {
        let rrs = try parse(#"""
            $TTL 60
            t TXT "semi;colon" "quote\"d" \065BC "tab\009end" ; comment "not a string"
            """#)
        #expect(rrs[0].rdata == .txt(TXT([Array("semi;colon".utf8), Array("quote\"d".utf8), Array("ABC".utf8), Array("tab\tend".utf8)])))
    }

    @Test func genericRDATAForUnknownAndKnownTypes() throws {
        let rrs = try parse(##"""
            $TTL 60
            u TYPE65280 \# 4 0a000001
            a TYPE1 \# 4 c0000201
            e TYPE65281 \# 0
            """##)
        #expect(rrs[0].rdata == .unknown(RRType(65280), [10, 0, 0, 1]))
        #expect(rrs[1].type == .a && rrs[1].rdata == .a(IPv4Address(192, 0, 2, 1)))
        #expect(rrs[2].rdata == .unknown(RRType(65281), []))
    }

    @Test func ttlFallsBackToTheLastExplicitOneWithoutDollarTTL() throws {
        let rrs = try parse("a 120 A 192.0.2.1\nb A 192.0.2.2\n")
        #expect(rrs[1].ttl == 120)
    }

    static let errors: [(String, Int, Int, String)] = [
        ("$TTL 60\nwww A 192.0.2.300\n", 2, 7, "expected an IPv4 address"),
        ("$TTL 60\nwww BOGUS 1\n", 2, 5, "unknown record type 'BOGUS'"),
        ("$TTL 60\n@ SOA ns1 host ( 1 2 3 4 5\n", 2, 16, "'(' is never closed"),
        ("$TTL 60\nt TXT \"open\n", 2, 7, "quoted string not closed"),
        ("www A 192.0.2.1\n", 1, 1, "no TTL on this record"),
        ("$TTL 60\n$ORIGIN relative\n", 2, 9, "$ORIGIN must be absolute"),
        ("$TTL 60\n$INCLUDE other.zone\n", 2, 1, "$INCLUDE is not allowed here"),
        ("$TTL 60\n$GENERATE 1-10 a$ A 1.2.3.$\n", 2, 1, "$GENERATE is not supported"),
        ("$TTL 60\nwww CH A 192.0.2.1\n", 2, 8, "class CH is not served"),
        ("$TTL 60\n  A 192.0.2.1\n", 2, 3, "no owner name and no previous owner"),
        ("$TTL 60\nx MX 10\n", 2, 6, "missing exchange"),
        ("$TTL 60\nx A 1.2.3.4 5.6.7.8\n", 2, 13, "unexpected '5.6.7.8'"),
        ("$TTL 60\n" + String(repeating: "a", count: 64) + " A 1.2.3.4\n", 2, 1, "label longer than 63"),
        ("$TTL 99999999999\n", 1, 6, "expected a TTL"),
        ("$TTL 60\nx ) A 1.2.3.4\n", 2, 3, "')' without '('"),
    ]

    @Test("errors say file:line:column and what was expected", arguments: 0..<errors.count)
    func locatedErrors(index: Int) throws {
        let (text, line, col, fragment) = Self.errors[index]
        let e = try #require(error(text))
        #expect(e.file == "t.zone")
        #expect(e.line == line && e.column == col, "got \(e)")
        #expect(e.message.contains(fragment), "got \(e)")
        #expect(e.description.hasPrefix("t.zone:\(line):\(col): "))
    }

    @Test("$INCLUDE stays inside the zone's directory")
    func includeConfinement() throws {
        #expect(ZoneFileParser.confine("other.zone", root: "/etc/z", relativeTo: "/etc/z") == "/etc/z/other.zone")
        #expect(ZoneFileParser.confine("sub/x.zone", root: "/etc/z", relativeTo: "/etc/z") == "/etc/z/sub/x.zone")
        #expect(ZoneFileParser.confine("../secret", root: "/etc/z", relativeTo: "/etc/z") == nil)
        #expect(ZoneFileParser.confine("/etc/shadow", root: "/etc/z", relativeTo: "/etc/z") == nil)
        #expect(ZoneFileParser.confine("sub/../../z2/x", root: "/etc/z", relativeTo: "/etc/z") == nil)
        let files: [String: String] = ["/z/inc.zone": "inc A 192.0.2.9\n", "/z/deep.zone": "$INCLUDE /z/deep.zone\n"]
        var p = ZoneFileParser(text: Array("$TTL 60\n$INCLUDE inc.zone\n".utf8), file: "/z/main.zone", origin: try DNSName("ex."),
                               includeRoot: "/z", includeLoader: { Array((files[$0] ?? "").utf8) })
        #expect(try p.all().map(\.record.name.description) == ["inc.ex."])
        var q = ZoneFileParser(text: Array("$TTL 60\n$INCLUDE deep.zone\n".utf8), file: "/z/main.zone", origin: try DNSName("ex."),
                               includeRoot: "/z", includeLoader: { Array((files[$0] ?? "").utf8) })
        #expect(throws: ZoneParseError.self) { try q.all() }
    }

    @Test("the lab zone in zones/ parses and builds")
    func labZone() throws {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let path = parts.joined(separator: "/") + "/zones/jamfox.dev.zone"
        let text = readFile(path)
        var p = ZoneFileParser(text: text, file: path, origin: try DNSName("jamfox.dev."))
        var b = ZoneBuilder(origin: try DNSName("jamfox.dev."))
        for r in try p.all() { b.add(r.record) }
        let z = try b.build()
        #expect(z.recordCount == 15)
        #expect(try z.lookup(try DNSName("vs2.jamfox.dev."), .a) == .answer(RRSet(name: try DNSName("vs2.jamfox.dev."), type: .a, ttl: 3600, rdatas: [.a(IPv4Address(192, 168, 10, 132))]), synthesizedOwner: nil))
    }
}

#if canImport(Glibc)
import Glibc
#endif

func readFile(_ path: String) -> [UInt8] {
    guard let f = fopen(path, "r") else { return [] }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        out += buf[0..<n]
        if n < buf.count { break }
    }
    return out
}

/// RDATA alone, as dnsctl and the importers parse it (no record line made up around it).
@Suite struct RDataTextTests {
    @Test("relative names against the origin, quotes and parentheses; errors name the column; one line only")
    func rdataAlone() throws {
        let o = try DNSName("lab.test.")
        #expect(try RData.parse(text: "10 mail", type: .mx, origin: o).presentation == "10 mail.lab.test.")
        #expect(try RData.parse(text: #""v=spf1 -all" "second""#, type: .txt, origin: o).presentation == #""v=spf1 -all" "second""#)
        #expect(try RData.parse(text: "( 10 60\n 5060 sip )", type: .srv, origin: o).presentation == "10 60 5060 sip.lab.test.")
        do {
            _ = try RData.parse(text: "10 20 x", type: .srv, origin: o)
            Issue.record("accepted a short SRV")
        } catch {
            #expect(error.message.contains("SRV record") && error.column >= 1, "\(error)")
        }
        #expect(throws: ZoneParseError.self) { try RData.parse(text: "192.0.2.1\n192.0.2.2", type: .a, origin: o) }
        #expect(throws: ZoneParseError.self) { try RData.parse(text: "192.0.2.300", type: .a, origin: o) }
    }
}

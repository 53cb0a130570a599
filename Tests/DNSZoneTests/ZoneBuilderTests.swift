import DNSWire
import Testing
@testable import DNSZone

@Suite struct ZoneBuilderTests {
    func build(_ text: String) throws(ZoneBuildError) -> Zone {
        var p = ZoneFileParser(text: "$ORIGIN z.test.\n$TTL 60\n" + text, origin: nil)
        var b = ZoneBuilder(origin: try! DNSName("z.test."))
        for r in try! p.all() { b.add(r.record) }
        return try b.build()
    }

    static let base = "@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"

    static let rejected: [(String, String)] = [
        ("@ NS ns\n", "no SOA"),
        ("@ SOA ns h 1 1 1 1 1\n", "no NS"),
        (base + "@ SOA ns h 2 1 1 1 1\n", "exactly one SOA"),
        (base + "www SOA ns h 1 1 1 1 1\n", "only allowed at the zone apex"),
        (base + "www CNAME ns\nwww A 192.0.2.2\n", "CNAME cannot coexist"),
        (base + "@ CNAME ns\n", "CNAME cannot be at the zone apex"),
        (base + "www CNAME a\nwww CNAME b\n", "more than one CNAME"),
        (base + "other.test. A 192.0.2.2\n", "outside zone"),
        (base + "*.w NS ns\n", "wildcard"),
    ]

    @Test("semantic checks reject bad zones and say why", arguments: 0..<rejected.count)
    func rejects(index: Int) {
        let (text, why) = Self.rejected[index]
        do {
            _ = try build(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.contains(why), "\(error)")
        }
    }

    @Test func duplicatesAndTTLMismatch() throws {
        var b = ZoneBuilder(origin: try DNSName("z.test."))
        let n = try DNSName("a.z.test.")
        b.add(ResourceRecord(name: n, type: .a, ttl: 60, rdata: .a(IPv4Address(1))))
        b.add(ResourceRecord(name: n, type: .a, ttl: 60, rdata: .a(IPv4Address(1))))
        b.add(ResourceRecord(name: n, type: .a, ttl: 30, rdata: .a(IPv4Address(2))))
        #expect(b.count == 2)
        #expect(b.problems.contains { $0.severity == .warning && $0.message.contains("TTL 30") })
    }

    @Test func flags() throws {
        let z = try build(Self.base + "d NS ns.d\nns.d A 192.0.2.9\na.b.c A 192.0.2.3\n")
        #expect(z.node(try DNSName("d.z.test."))?.isDelegation == true)
        #expect(z.isOccluded(try DNSName("ns.d.z.test.")))
        #expect(z.node(try DNSName("b.c.z.test."))?.isEmptyNonTerminal == true)
        #expect(z.node(try DNSName("c.z.test."))?.isEmptyNonTerminal == true)
    }
}

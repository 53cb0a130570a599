import DNSWire
import Testing
import TestSupport
@testable import DNSZone

/// Scenario tables in the style of CoreDNS's plugin/file tests: a zone as text, a question, the expected
/// RCODE, AA and sections (record text, lowercased, sorted).
@Suite struct LookupScenarioTests {
    static let zone = """
        $ORIGIN example.test.
        $TTL 3600
        @ SOA ns1 hostmaster 1 3600 600 1209600 300
        @ NS ns1
        @ A 192.0.2.1
        @ MX 10 mail
        ns1 A 192.0.2.53
        mail A 192.0.2.25
        www CNAME @
        alias CNAME www
        loop1 CNAME loop2
        loop2 CNAME loop1
        dangling CNAME nothere
        *.wild A 192.0.2.80
        host.wild AAAA 2001:db8::81
        a.b.c.ent A 192.0.2.90
        *.cwild CNAME www
        sub NS ns1.sub
        ns1.sub A 192.0.2.153
        sub DS 1 13 2 AABB
        """

    static let catalog = ZoneText.catalog([ZoneText.zone(zone)], generation: 0)

    struct Case: Sendable, CustomStringConvertible {
        var q: String, t: RRType, rcode: RCode = .noError, aa = true
        var an: [String] = [], ns: [String] = [], ar: [String] = []
        var description: String { "\(q) \(t)" }
    }

    static let soa = "example.test. 300 in soa ns1.example.test. hostmaster.example.test. 1 3600 600 1209600 300"

    static let cases: [Case] = [
        Case(q: "example.test.", t: .a, an: ["example.test. 3600 in a 192.0.2.1"]),
        Case(q: "example.test.", t: .mx, an: ["example.test. 3600 in mx 10 mail.example.test."], ar: ["mail.example.test. 3600 in a 192.0.2.25"]),
        Case(q: "example.test.", t: .ns, an: ["example.test. 3600 in ns ns1.example.test."], ar: ["ns1.example.test. 3600 in a 192.0.2.53"]),
        Case(q: "example.test.", t: .aaaa, ns: [soa]),  // NODATA
        Case(q: "nothere.example.test.", t: .a, rcode: .nxDomain, ns: [soa]),
        // CNAME chain to the apex, followed inside the zone.
        Case(q: "alias.example.test.", t: .a, an: ["alias.example.test. 3600 in cname www.example.test.", "example.test. 3600 in a 192.0.2.1", "www.example.test. 3600 in cname example.test."]),
        Case(q: "www.example.test.", t: .cname, an: ["www.example.test. 3600 in cname example.test."]),
        // A loop ends with each CNAME once.
        Case(q: "loop1.example.test.", t: .a, an: ["loop1.example.test. 3600 in cname loop2.example.test.", "loop2.example.test. 3600 in cname loop1.example.test."]),
        // RFC 6604: the RCODE is the last name's.
        Case(q: "dangling.example.test.", t: .a, rcode: .nxDomain, an: ["dangling.example.test. 3600 in cname nothere.example.test."], ns: [soa]),
        // Wildcards (RFC 4592): synthesis, no AAAA from an A wildcard, existing names block it.
        Case(q: "x.wild.example.test.", t: .a, an: ["x.wild.example.test. 3600 in a 192.0.2.80"]),
        Case(q: "x.y.wild.example.test.", t: .a, an: ["x.y.wild.example.test. 3600 in a 192.0.2.80"]),
        Case(q: "x.wild.example.test.", t: .aaaa, ns: [soa]),
        Case(q: "host.wild.example.test.", t: .a, ns: [soa]),
        Case(q: "sub.host.wild.example.test.", t: .a, rcode: .nxDomain, ns: [soa]),
        Case(q: "wild.example.test.", t: .a, ns: [soa]),  // an ENT above the wildcard
        // Empty non-terminals are NODATA, below them NXDOMAIN (RFC 8020).
        Case(q: "c.ent.example.test.", t: .a, ns: [soa]),
        Case(q: "b.c.ent.example.test.", t: .a, ns: [soa]),
        Case(q: "x.c.ent.example.test.", t: .a, rcode: .nxDomain, ns: [soa]),
        // Wildcard CNAME, synthesized then followed.
        Case(q: "q.cwild.example.test.", t: .a, an: ["example.test. 3600 in a 192.0.2.1", "q.cwild.example.test. 3600 in cname www.example.test.", "www.example.test. 3600 in cname example.test."]),
        // Delegation: referral with glue, AA clear; DS from the parent side.
        Case(q: "sub.example.test.", t: .a, aa: false, ns: ["sub.example.test. 3600 in ns ns1.sub.example.test."], ar: ["ns1.sub.example.test. 3600 in a 192.0.2.153"]),
        Case(q: "deep.sub.example.test.", t: .ds, aa: false, ns: ["sub.example.test. 3600 in ns ns1.sub.example.test."], ar: ["ns1.sub.example.test. 3600 in a 192.0.2.153"]),
        Case(q: "sub.example.test.", t: .ds, an: ["sub.example.test. 3600 in ds 1 13 2 AABB".lowercased()]),
        Case(q: "sub.example.test.", t: .ns, aa: false, ns: ["sub.example.test. 3600 in ns ns1.sub.example.test."], ar: ["ns1.sub.example.test. 3600 in a 192.0.2.153"]),
        Case(q: "ns1.sub.example.test.", t: .a, aa: false, ns: ["sub.example.test. 3600 in ns ns1.sub.example.test."], ar: ["ns1.sub.example.test. 3600 in a 192.0.2.153"]),
        // ANY (RFC 8482): one RRset.
        Case(q: "example.test.", t: .any, an: ["example.test. 3600 in a 192.0.2.1"]),
        Case(q: "www.example.test.", t: .any, an: ["www.example.test. 3600 in cname example.test."]),
        // Case-insensitive lookup.
        Case(q: "MAIL.Example.TEST.", t: .a, an: ["mail.example.test. 3600 in a 192.0.2.25"]),
    ]

    @Test("lookup scenarios", arguments: cases)
    func scenario(_ c: Case) throws {
        let a = Self.catalog.answer(try DNSName(c.q), c.t)
        func text(_ rrs: [ResourceRecord]) -> [String] { rrs.map { $0.description.lowercased() }.sorted() }
        #expect(a.inZone)
        #expect(a.rcode == c.rcode)
        #expect(a.authoritative == c.aa)
        #expect(text(a.answer) == c.an.sorted())
        #expect(text(a.authority) == c.ns.sorted())
        #expect(text(a.additional) == c.ar.sorted())
    }

    @Test func outsideEveryZone() throws {
        #expect(Self.catalog.answer(try DNSName("example.com."), .a).inZone == false)
        #expect(Self.catalog.answer(try DNSName("test."), .a).inZone == false)
    }

    @Test("the longest zone wins; DS at a child apex comes from the parent")
    func catalogLongestSuffix() throws {
        func zone(_ text: String, _ origin: String) throws -> Zone { ZoneText.zone(text, origin: origin) }
        let parent = try zone("$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\nchild NS ns.child\nns.child A 192.0.2.2\nchild DS 1 13 2 AA\n", "p.test.")
        let child = try zone("$TTL 60\n@ SOA ns h 2 1 1 1 1\n@ NS ns\nns A 192.0.2.2\nwww A 192.0.2.3\n", "child.p.test.")
        let c = Catalog(zones: [parent, child])
        #expect(c.zone(for: try DNSName("www.child.p.test."))?.origin == child.origin)
        let www = c.answer(try DNSName("www.child.p.test."), .a)
        #expect(www.authoritative && www.answer.count == 1)
        let ds = c.answer(try DNSName("child.p.test."), .ds)
        #expect(ds.answer.first?.type == .ds)
        let soa = c.answer(try DNSName("child.p.test."), .soa)
        #expect(soa.answer.first?.rdata.soa?.serial == 2)
    }
}

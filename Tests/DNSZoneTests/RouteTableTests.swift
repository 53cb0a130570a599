import DNSWire
import Testing
import TestSupport
@testable import DNSZone

/// `RouteTable.decide`, the one routing decision the query path and `explain` share: "resolve upstream" marks,
/// a name's own records against a mark, zones that fall through, and the forward zone each resolved name takes.
@Suite struct RouteTableTests {
    static let forwardZones = [try! DNSName("consul."), .root]

    static func catalog(_ mode: Fallthrough, marks: [String] = ["docs.lab.test.", "vpn.lab.test."]) -> RouteTable {
        let text = """
            $ORIGIN lab.test.
            $TTL 0
            @ SOA ns1 hostmaster 1 3600 600 1209600 300
            @ NS ns1
            ns1 A 192.0.2.53
            portainer A 192.0.2.111
            *.portainer A 192.0.2.111
            vpn A 192.0.2.54
            a.b.ent A 192.0.2.90
            """
        return RouteTable(catalog: ZoneText.catalog([ZoneText.zone(text, fallthrough: mode)], upstreamNames: marks), forwardZones: forwardZones)
    }

    func decide(_ c: RouteTable, _ name: String, _ type: RRType, resolver: Bool = true) -> LocalDecision {
        c.decide(try! DNSName(name), type, resolverAvailable: resolver)
    }

    func isAnswer(_ d: LocalDecision) -> Bool { if case .answer = d { true } else { false } }

    @Test("a mark sends its subtree upstream; the name's own records win for their types (dnsmasq: hosts beat server=/name/#)")
    func marks() {
        let c = Self.catalog(.off)
        #expect(decide(c, "docs.lab.test.", .a) == .resolve(.upstreamName(try! DNSName("docs.lab.test.")), nameExists: false, forward: 1))
        #expect(decide(c, "x.docs.lab.test.", .a) == .resolve(.upstreamName(try! DNSName("docs.lab.test.")), nameExists: false, forward: 1))
        #expect(isAnswer(decide(c, "vpn.lab.test.", .a)))
        #expect(decide(c, "vpn.lab.test.", .aaaa) == .resolve(.upstreamName(try! DNSName("vpn.lab.test.")), nameExists: true, forward: 1))
        // Without a resolver nobody could answer upstream: the zone does.
        #expect(isAnswer(decide(c, "docs.lab.test.", .a, resolver: false)))
    }

    @Test("off: NXDOMAIN and NODATA from the zone; names: NXDOMAIN goes upstream; types: NODATA too")
    func modes() {
        let off = Self.catalog(.off), names = Self.catalog(.names), types = Self.catalog(.types)
        let z = try! DNSName("lab.test.")
        for c in [off, names, types] {
            #expect(isAnswer(decide(c, "portainer.lab.test.", .a)))
            #expect(isAnswer(decide(c, "deep.x.portainer.lab.test.", .a)), "the wildcard answers")
            #expect(isAnswer(decide(c, "minecraft.lab.test.", .a, resolver: false)), "no resolver: the zone answers")
        }
        #expect(isAnswer(decide(off, "minecraft.lab.test.", .a)) && isAnswer(decide(off, "portainer.lab.test.", .aaaa)))
        #expect(decide(names, "minecraft.lab.test.", .a) == .resolve(.fallsThrough(zone: z, .names), nameExists: false, forward: 1))
        #expect(isAnswer(decide(names, "portainer.lab.test.", .aaaa)))
        #expect(decide(types, "minecraft.lab.test.", .a) == .resolve(.fallsThrough(zone: z, .types), nameExists: false, forward: 1))
        #expect(decide(types, "portainer.lab.test.", .aaaa) == .resolve(.fallsThrough(zone: z, .types), nameExists: true, forward: 1))
        #expect(decide(types, "x.portainer.lab.test.", .mx) == .resolve(.fallsThrough(zone: z, .types), nameExists: true, forward: 1), "wildcard NODATA")
        #expect(decide(types, "b.ent.lab.test.", .a) == .resolve(.fallsThrough(zone: z, .types), nameExists: true, forward: 1), "an empty non-terminal exists")
        #expect(decide(types, "outside.test.", .a) == .outside(forward: 1))
    }

    @Test("explain says what the decision is, in the same words for server and dnsctl")
    func explained() {
        let (d, lines) = Self.catalog(.types).explainDecision(try! DNSName("minecraft.lab.test."), .a, resolverAvailable: true)
        #expect(!isAnswer(d))
        #expect(lines.contains { $0.contains("falls through (types)") && $0.contains("the resolver answers") }, "\(lines)")
        let (_, vpn) = Self.catalog(.off).explainDecision(try! DNSName("vpn.lab.test."), .a, resolverAvailable: true)
        #expect(vpn.contains { $0.contains("its own A records win") }, "\(vpn)")
        let (_, none) = Self.catalog(.off).explainDecision(try! DNSName("docs.lab.test."), .a, resolverAvailable: false)
        #expect(none.contains { $0.contains("no resolver is configured: the zone answers") }, "\(none)")
    }

    @Test("the forward zone comes from the same walk: the longest one holding the name, nil when none does")
    func forwardZones() throws {
        let c = Self.catalog(.off)
        #expect(decide(c, "web.service.consul.", .a) == .outside(forward: 0))
        #expect(decide(c, "consul.", .soa) == .outside(forward: 0))
        #expect(decide(c, "www.example.", .a) == .outside(forward: 1))
        #expect(decide(c, "www.example.", .a, resolver: false) == .outside(forward: nil))
        let consulOnly = RouteTable(catalog: c.catalog, forwardZones: [try DNSName("consul.")])
        #expect(consulOnly.decide(try DNSName("www.example."), .a, resolverAvailable: true) == .outside(forward: nil))
        #expect(consulOnly.decide(try DNSName("docs.lab.test."), .a, resolverAvailable: true)
            == .resolve(.upstreamName(try DNSName("docs.lab.test.")), nameExists: false, forward: nil))
        #expect(c.forwardZone(for: try DNSName("a.b.consul.")) == 0)
        #expect(c.forwardZone(for: try DNSName("lab.test.")) == 1)
    }

    @Test("DS at a child apex is answered from the parent zone when both are served (RFC 4035 §3.1.4.1)")
    func dsAtChildApex() throws {
        let parent = ZoneText.zone("""
            $ORIGIN p.test.
            $TTL 60
            @ SOA ns hostmaster 1 3600 600 1209600 300
            @ NS ns
            ns A 192.0.2.1
            child NS ns.child
            ns.child A 192.0.2.2
            child DS 12345 13 2 2BB183AF
            """)
        let child = ZoneText.zone("""
            $ORIGIN child.p.test.
            $TTL 60
            @ SOA ns hostmaster 1 3600 600 1209600 300
            @ NS ns
            ns A 192.0.2.2
            """)
        let routes = RouteTable(catalog: ZoneText.catalog([parent, child]))
        guard case .answer(let ds) = routes.decide(try DNSName("child.p.test."), .ds, resolverAvailable: false) else {
            Issue.record("not answered")
            return
        }
        #expect(ds.answer.map(\.type) == [.ds])
        guard case .answer(let soa) = routes.decide(try DNSName("child.p.test."), .soa, resolverAvailable: false) else { return }
        #expect(soa.answer.first?.rdata.soa?.mname == (try DNSName("ns.child.p.test.")))
    }
}

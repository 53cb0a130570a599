import DNSWire
import Testing
import TestSupport
@testable import DNSZone

/// `Catalog.decide`, the one routing decision the query path and `explain` share: "resolve upstream" marks,
/// a name's own records against a mark, and zones that fall through.
@Suite struct CatalogDecisionTests {
    static func catalog(_ mode: Fallthrough, marks: [String] = ["docs.lab.test.", "vpn.lab.test."]) -> Catalog {
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
        return ZoneText.catalog([ZoneText.zone(text, fallthrough: mode)], upstreamNames: marks)
    }

    func decide(_ c: Catalog, _ name: String, _ type: RRType, resolver: Bool = true) -> LocalDecision {
        c.decide(try! DNSName(name), type, resolverAvailable: resolver)
    }

    func isAnswer(_ d: LocalDecision) -> Bool { if case .answer = d { true } else { false } }

    @Test("a mark sends its subtree upstream; the name's own records win for their types (dnsmasq: hosts beat server=/name/#)")
    func marks() {
        let c = Self.catalog(.off)
        #expect(decide(c, "docs.lab.test.", .a) == .resolve(.upstreamName(try! DNSName("docs.lab.test.")), nameExists: false))
        #expect(decide(c, "x.docs.lab.test.", .a) == .resolve(.upstreamName(try! DNSName("docs.lab.test.")), nameExists: false))
        #expect(isAnswer(decide(c, "vpn.lab.test.", .a)))
        #expect(decide(c, "vpn.lab.test.", .aaaa) == .resolve(.upstreamName(try! DNSName("vpn.lab.test.")), nameExists: true))
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
        #expect(decide(names, "minecraft.lab.test.", .a) == .resolve(.fallsThrough(zone: z, .names), nameExists: false))
        #expect(isAnswer(decide(names, "portainer.lab.test.", .aaaa)))
        #expect(decide(types, "minecraft.lab.test.", .a) == .resolve(.fallsThrough(zone: z, .types), nameExists: false))
        #expect(decide(types, "portainer.lab.test.", .aaaa) == .resolve(.fallsThrough(zone: z, .types), nameExists: true))
        #expect(decide(types, "x.portainer.lab.test.", .mx) == .resolve(.fallsThrough(zone: z, .types), nameExists: true), "wildcard NODATA")
        #expect(decide(types, "b.ent.lab.test.", .a) == .resolve(.fallsThrough(zone: z, .types), nameExists: true), "an empty non-terminal exists")
        #expect(decide(types, "outside.test.", .a) == .outside)
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
}

import Testing
@testable import DNSWire

@Suite struct DNSNameTests {
    @Test func parsesRelativeAbsoluteAndOrigin() throws {
        let origin = try DNSName("jamfox.dev.")
        #expect(try DNSName("vs0", origin: origin).description == "vs0.jamfox.dev.")
        #expect(try DNSName("@", origin: origin) == origin)
        #expect(try DNSName("a.b.", origin: origin).description == "a.b.")
        #expect(DNSName.root.description == ".")
    }

    @Test func escapesRoundTrip() throws {
        let n = try DNSName(#"a\.b\032c\\d.example."#)
        #expect(n.labelCount == 2)
        #expect(n.labels[0].count == 7)
        #expect(n.description == #"a\.b\032c\\d.example."#)
        #expect(try DNSName(n.description) == n)
    }

    @Test("comparison ignores ASCII case but output keeps it (RFC 4343)")
    func caseInsensitive() throws {
        let a = try DNSName("WwW.Example.COM."), b = try DNSName("www.example.com.")
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(a.description == "WwW.Example.COM.")
    }

    @Test("canonical order of RFC 4034 §6.1")
    func canonicalOrder() throws {
        let ordered = ["example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.", "\\200.z.example."]
        let names = try ordered.map { try DNSName($0) }
        #expect(names.shuffled().sorted() == names)
    }

    @Test func limits() throws {
        #expect(throws: WireError.self) { try DNSName(String(repeating: "a", count: 64) + ".") }
        #expect(throws: WireError.self) { try DNSName(Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".") + ".") }
        #expect(throws: WireError.self) { try DNSName("a..b.") }
        #expect(throws: WireError.self) { try DNSName("rel") }
        #expect(throws: WireError.self) { try DNSName(#"a\256."#) }
        let max = try DNSName(Array(repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".") + "." + String(repeating: "b", count: 61) + ".")
        #expect(max.wire.count == 255)
    }

    @Test func subdomainAndParents() throws {
        let n = try DNSName("a.b.jamfox.dev."), z = try DNSName("jamfox.dev.")
        #expect(n.isSubdomain(of: z) && z.isSubdomain(of: z) && !z.isSubdomain(of: n))
        #expect(!(try DNSName("xjamfox.dev.")).isSubdomain(of: z))
        #expect(n.parent?.description == "b.jamfox.dev.")
        #expect(n.suffix(labels: 2) == z)
        #expect(z.wildcardChild()?.description == "*.jamfox.dev.")
        #expect(try DNSName("*.jamfox.dev.").isWildcard)
        #expect(n.relativeDescription(to: z) == "a.b")
    }

    @Test("lowercasing lowers exactly A-Z, and hands back the name itself when there is nothing to lower")
    func lowercasing() throws {
        #expect(try DNSName("Vs0.JamFox.DEV.").lowercased.wire == (try DNSName("vs0.jamfox.dev.")).wire)
        // Bytes next to the letters ('@' 0x40, '[' 0x5B) and above ASCII stay as they are.
        let odd = try DNSName(#"a\064\091\200Z."#)
        #expect(odd.lowercased.wire == [5, 0x61, 0x40, 0x5B, 0xC8, 0x7A, 0])
        let lower = try DNSName("already.lower.")
        #expect(lower.lowercased.wire == lower.wire)
    }

    @Test("dotted quads: exactly four parts of 0-255 without leading zeros", arguments: [
        ("192.0.2.1", UInt32(0xC000_0201)), ("0.0.0.0", 0), ("255.255.255.255", 0xFFFF_FFFF),
        ("1.2.3", nil), ("1.2.3.4.5", nil), ("1..2.3", nil), (".1.2.3", nil), ("1.2.3.", nil), ("01.2.3.4", nil),
        ("256.1.1.1", nil), ("1.2.3.4 ", nil), ("", nil),
    ] as [(String, UInt32?)])
    func dottedQuads(text: String, value: UInt32?) {
        #expect(IPv4Address(text)?.value == value, "\(text)")
    }
}

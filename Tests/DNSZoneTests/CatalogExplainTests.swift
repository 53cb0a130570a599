import DNSWire
import Testing
@testable import DNSZone

/// `Catalog.explain`: the story behind each kind of answer, on the scenario zone.
@Suite struct CatalogExplainTests {
    func explain(_ name: String, _ type: RRType) throws -> String {
        try #require(LookupScenarioTests.catalog.explain(try DNSName(name), type)).joined(separator: "\n")
    }

    @Test("exact records, wildcards with their closest encloser, CNAME chains, loops")
    func positive() throws {
        let exact = try explain("mail.example.test.", .a)
        #expect(exact.hasPrefix("zone example.test. (serial 1, ") && exact.contains("  mail.example.test. A:\n    mail.example.test. 3600 A 192.0.2.25"))
        let wild = try explain("x.wild.example.test.", .a)
        #expect(wild.contains("the wildcard *.wild.example.test. matches it (RFC 4592: its closest encloser is wild.example.test.)"))
        #expect(wild.contains("x.wild.example.test. 3600 A 192.0.2.80"))
        let chain = try explain("alias.example.test.", .a)
        #expect(chain.contains("following the CNAME to www.example.test.") && chain.contains("following the CNAME to example.test.")
                && chain.contains("example.test. 3600 A 192.0.2.1"), "\(chain)")
        #expect(try explain("loop1.example.test.", .a).contains("a CNAME loop"))
    }

    @Test("NODATA (including via an empty non-terminal and a wildcard without the type), NXDOMAIN, referrals, outside")
    func negative() throws {
        #expect(try explain("mail.example.test.", .aaaa).contains("exists with A but no AAAA: NODATA, negative TTL 300 s"))
        #expect(try explain("b.c.ent.example.test.", .a).contains("exists only as an empty non-terminal"))
        #expect(try explain("y.wild.example.test.", .txt).contains("the wildcard *.wild.example.test. matches it but holds A, no TXT"))
        #expect(try explain("nope.example.test.", .a).contains("does not exist and no wildcard covers it (closest encloser example.test. has no *): NXDOMAIN"))
        #expect(try explain("deep.sub.example.test.", .a).contains("is at or below the delegation sub.example.test.: a referral (AA clear) to"))
        #expect(try explain("dangling.example.test.", .a).contains("following the CNAME to nothere.example.test."))
        #expect(LookupScenarioTests.catalog.explain(try DNSName("other.org."), .a) == nil)
    }
}

import Testing
@testable import DNSWire

/// The one longest-suffix structure: zones, forward zones and marks are all looked up through it.
@Suite struct SuffixTableTests {
    static let table = SuffixTable([
        (try! DNSName("."), "root"), (try! DNSName("dev."), "tld"), (try! DNSName("jamfox.dev."), "zone"),
        (try! DNSName("docs.jamfox.dev."), "mark"), (try! DNSName("consul."), "consul"),
    ])

    @Test("longest match, case-insensitive, root as the last resort; nothing from an empty table")
    func longest() throws {
        #expect(Self.table.longest(containing: try DNSName("a.DOCS.JamFox.dev."))?.value == "mark")
        #expect(Self.table.longest(containing: try DNSName("jamfox.dev."))?.value == "zone")
        #expect(Self.table.longest(containing: try DNSName("xjamfox.dev."))?.value == "tld", "a label, not a string suffix")
        #expect(Self.table.longest(containing: try DNSName("example.org."))?.value == "root")
        #expect(SuffixTable<Int>().longest(containing: try DNSName("a.b.")) == nil)
    }

    @Test("a walk yields every enclosing name, longest first, and can stop and go on")
    func walk() throws {
        var w = Self.table.walk(try DNSName("x.docs.jamfox.dev."))
        #expect(w.next(in: Self.table)?.value == "mark")
        #expect(w.next(in: Self.table)?.value == "zone")
        var rest: [String] = []
        while let (_, v) = w.next(in: Self.table) { rest.append(v) }
        #expect(rest == ["tld", "root"])
        #expect(w.next(in: Self.table) == nil, "an ended walk stays ended")
    }
}

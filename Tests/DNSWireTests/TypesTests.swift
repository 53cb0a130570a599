import Testing
@testable import DNSWire

/// Type and class mnemonics as a zone file or a command line spells them.
@Suite struct TypesTests {
    @Test("type mnemonics: any ASCII case, TYPEnnn with 1-5 digits up to 65535, nothing else")
    func typeMnemonics() {
        for (t, name) in RRType.names {
            #expect(RRType(text: name) == t)
            #expect(RRType(text: name.lowercased()) == t)
            // Alternating case, as a hand-written file might have it.
            let mixed = String(name.enumerated().map { $0.offset % 2 == 0 ? Character($0.element.lowercased()) : $0.element })
            #expect(RRType(text: mixed) == t, "\(mixed)")
        }
        #expect(RRType(text: "type65280") == RRType(65280))
        #expect(RRType(text: "TYPE0") == RRType(0))
        #expect(RRType(text: "TYPE00001") == .a)
        #expect(RRType(text: "TYPE65535") == RRType(65535))
        for bad in ["", "TYPE", "TYPE65536", "TYPE123456", "TYPE+1", "TYPE-1", "TYPE1x", "AA", "AAAAA", "ſoa", "SOA.", "A\u{0}", "[", "TXT "] {
            #expect(RRType(text: bad) == nil, "\(bad)")
        }
        // Bytes and String agree.
        #expect(RRType(text: Array("cNaMe".utf8)) == .cname)
    }

    @Test("class mnemonics: IN, CH, HS, NONE, ANY in any ASCII case and CLASSnnn")
    func classMnemonics() {
        #expect(RRClass(text: "in") == .in)
        #expect(RRClass(text: "In") == .in)
        #expect(RRClass(text: "ch") == .ch)
        #expect(RRClass(text: "NONE") == RRClass.none)
        #expect(RRClass(text: "any") == .any)
        #expect(RRClass(text: "class3") == .ch)
        #expect(RRClass(text: "CLASS65535") == RRClass(65535))
        for bad in ["", "I", "INN", "CLASS", "CLASS65536", "CLASS+1", "ın", "A", "3600", "{N"] {
            #expect(RRClass(text: bad) == nil, "\(bad)")
        }
    }
}

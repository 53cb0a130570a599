import Testing
@testable import DNSWire

@Suite struct MessageParseTests {
    static let vectorNames = Vectors.names(suffix: ".hex")

    @Test("golden vectors from dig, kdig and Knot parse and survive encode → parse", arguments: vectorNames)
    func vectorRoundTrip(name: String) throws {
        let bytes = Vectors.load(name + ".hex")
        #expect(bytes.count >= 12)
        let m = try Message.parse(bytes)
        let again = try Message.parse(m.wireBytes())
        #expect(again == m)
    }

    /// Knot does not always compress as far as it could (an NS target below the cut in a referral), so the
    /// check is: same bytes, or a shorter encoding of the same message.
    @Test("Knot's answers re-encode to the same bytes or a shorter equivalent", arguments: vectorNames.filter { $0.hasSuffix(".response") })
    func vectorBytesStable(name: String) throws {
        let bytes = Vectors.load(name + ".hex")
        let m = try Message.parse(bytes)
        let ours = m.wireBytes()
        let reparsed = try Message.parse(ours)
        #expect(ours == bytes || (ours.count < bytes.count && reparsed == m))
    }

    @Test("every proper prefix of a valid packet is rejected as truncated", arguments: vectorNames)
    func rejectsEveryPrefix(name: String) throws {
        let bytes = Vectors.load(name + ".hex")
        for n in 0..<bytes.count {
            #expect(throws: WireError(.truncated, at: 0, "")) { try Message.parse(Array(bytes[0..<n])) }
        }
    }

    @Test func parsesDigQueryFields() throws {
        let m = try Message.parse(Vectors.load("dig-a.query.hex"))
        #expect(m.questions == [Question(name: try DNSName("vs0.jamfox.dev."), type: .a)])
        #expect(m.header.qr == false && m.header.opcode == .query)
        #expect(m.edns?.udpPayloadSize == 1232)
        #expect(m.edns?.options.contains { $0.code == EDNSOption.cookie } == true)
    }

    @Test func parsesKnotAnswerFields() throws {
        let m = try Message.parse(Vectors.load("dig-mx-additional.response.hex"))
        #expect(m.header.aa && m.header.qr)
        #expect(m.answers.count == 2)
        #expect(m.answers.contains { $0.rdata == .mx(MX(preference: 10, exchange: try! DNSName("mail.example.test."))) })
        #expect(m.additional.contains { $0.type == .a && $0.name == (try! DNSName("mail.example.test.")) })
    }

    @Test func rejectsTrailingBytes() {
        let q = Message.query(try! DNSName("a."), .a).wireBytes() + [0]
        #expect(throws: WireError(.trailingBytes, at: 0, "")) { try Message.parse(q) }
    }

    @Test func rejectsPointerLoopAndForwardPointer() {
        let selfPointer: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: WireError(.pointerLoop, at: 0, "")) { try Message.parse(selfPointer) }
        let forward: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 14, 0, 0, 1, 0, 1]
        #expect(throws: WireError.self) { try Message.parse(forward) }
    }

    @Test func rejectsReservedLabelTypes() {
        for t: UInt8 in [0x40, 0x80] {
            let p: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, t | 1, 0x61, 0, 0, 1, 0, 1]
            #expect(throws: WireError(.badLabelType, at: 0, "")) { try Message.parse(p) }
        }
    }

    @Test func rejectsNamesLongerThan255() {
        var p: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
        for _ in 0..<5 { p += [63] + [UInt8](repeating: 0x61, count: 63) }
        p += [0, 0, 1, 0, 1]
        #expect(throws: WireError(.nameTooLong, at: 0, "")) { try Message.parse(p) }
    }

    @Test func rejectsTwoOPTAndOPTOutsideAdditional() {
        var m = Message.query(try! DNSName("a."), .a)
        var b = m.wireBytes()
        let opt: [UInt8] = [0, 0, 41, 4, 0xD0, 0, 0, 0, 0, 0, 0]
        b += opt
        b[11] = 2
        #expect(throws: WireError(.badOPT, at: 0, "")) { try Message.parse(b) }
        m.edns = nil
        var c = m.wireBytes() + opt
        c[7] = 1
        #expect(throws: WireError(.badOPT, at: 0, "")) { try Message.parse(c) }
    }

    @Test func rejectsCountsLargerThanThePacket() {
        let p: [UInt8] = [0, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
        #expect(throws: WireError(.truncated, at: 0, "")) { try Message.parse(p) }
    }

    @Test func rejectsRDATALengthMismatch() {
        // A record with RDLENGTH 5.
        let p: [UInt8] = [0, 1, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]
        #expect(throws: WireError(.badRData, at: 0, "")) { try Message.parse(p) }
    }

    @Test func extendedRCodeCombinesHeaderAndOPT() throws {
        var m = Message.query(try DNSName("a."), .a)
        m.rcode = .badVers
        let back = try Message.parse(m.wireBytes())
        #expect(back.rcode == .badVers)
        #expect(back.header.rcodeLow == 0 && back.edns?.extendedRCode == 1)
    }

    @Test func extendedErrorsRoundTrip() throws {
        var m = Message.query(try DNSName("a."), .a)
        m.edns?.options.append(.extendedError(.notAuthoritative, "not here"))
        let back = try Message.parse(m.wireBytes())
        #expect(back.edns?.extendedErrors.first?.code == .notAuthoritative)
        #expect(back.edns?.extendedErrors.first?.text == "not here")
    }

    @Test func unknownEDNSOptionsArePreserved() throws {
        var m = Message.query(try DNSName("a."), .a)
        m.edns?.options = [EDNSOption(code: 65001, data: [9, 8, 7])]
        #expect(try Message.parse(m.wireBytes()).edns?.options == [EDNSOption(code: 65001, data: [9, 8, 7])])
    }
}

import Testing
@testable import DNSWire

@Suite struct MessageWriteTests {
    @Test("a query encodes to the RFC 1035 bytes")
    func goldenQuery() throws {
        let m = Message.query(try DNSName("example.com."), .a, id: 0x1234, recursionDesired: true, edns: nil)
        #expect(m.wireBytes() == [
            0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            7, 0x65, 0x78, 0x61, 0x6D, 0x70, 0x6C, 0x65, 3, 0x63, 0x6F, 0x6D, 0, 0x00, 0x01, 0x00, 0x01,
        ])
    }

    @Test("names are compressed against the question, case-insensitively (RFC 1035 §4.1.4)")
    func compression() throws {
        var m = Message(header: Header(id: 1))
        m.questions = [Question(name: try DNSName("WWW.Example.com."), type: .a)]
        m.answers = [ResourceRecord(name: try DNSName("www.example.com."), type: .cname, ttl: 60, rdata: .cname(try DNSName("web.example.com.")))]
        let b = m.wireBytes()
        // Question name at 12 (17 bytes + 4), answer owner is a pointer to 12.
        #expect(Array(b[33..<35]) == [0xC0, 12])
        // CNAME target "web" + pointer to "example.com" at offset 16.
        #expect(Array(b[45..<51]) == [3, 0x77, 0x65, 0x62, 0xC0, 16])
        #expect(try Message.parse(b).answers == m.answers)
    }

    @Test("SRV, NAPTR and SVCB targets are never compressed (RFC 3597 §4)")
    func noCompressionForNewTypes() throws {
        var m = Message(header: Header(id: 1))
        let n = try DNSName("t.example.")
        m.questions = [Question(name: n, type: .srv)]
        m.answers = [ResourceRecord(name: n, type: .srv, ttl: 1, rdata: .srv(SRV(priority: 1, weight: 2, port: 3, target: n)))]
        let b = m.wireBytes()
        #expect(Array(b.suffix(n.wire.count)) == n.wire)
    }

    @Test("an answer that does not fit sets TC and drops whole RRsets; additional overflow does not set TC")
    func truncation() throws {
        var m = Message(header: Header(id: 1))
        let n = try DNSName("many.example.")
        m.questions = [Question(name: n, type: .a)]
        m.answers = (0..<25).map { ResourceRecord(name: n, type: .a, ttl: 1, rdata: .a(IPv4Address(UInt32($0)))) }
        var w = WireWriter()
        #expect(m.write(into: &w, maxSize: 512) == false)
        m.answers += (0..<15).map { ResourceRecord(name: n, type: .a, ttl: 1, rdata: .a(IPv4Address(UInt32(100 + $0)))) }
        #expect(m.write(into: &w, maxSize: 512) == true)
        let t = try Message.parse(w.bytes)
        #expect(t.header.tc && t.answers.isEmpty)
        m.answers = [m.answers[0]]
        m.additional = (0..<60).map { ResourceRecord(name: try! DNSName("x\($0).example."), type: .a, ttl: 1, rdata: .a(IPv4Address(1))) }
        #expect(m.write(into: &w, maxSize: 512) == false)
        #expect(w.count <= 512)
    }

    @Test("the OPT record always fits: its space is reserved before the sections")
    func optReserved() throws {
        var m = Message.query(try DNSName("many.example."), .a)
        m.answers = (0..<60).map { ResourceRecord(name: try! DNSName("many.example."), type: .a, ttl: 1, rdata: .a(IPv4Address(UInt32($0)))) }
        let b = m.wireBytes(maxSize: 512)
        #expect(b.count <= 512)
        #expect(try Message.parse(b).edns != nil)
    }
}

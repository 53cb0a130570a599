import DNSWire
import Testing
@testable import DNSZone

/// A secondary's reading of transfers: what it takes and every hostile or broken answer it refuses (each
/// refusal leaves the old copy serving, since nothing is committed unless the reader says the transfer is whole).
@Suite struct TransferReaderTests {
    static let zone = try! DNSName("lab.test.")

    static func soa(_ serial: UInt32) -> ResourceRecord {
        ResourceRecord(name: zone, type: .soa, ttl: 300, rdata: .soa(SOA(
            mname: try! DNSName("ns1.lab.test."), rname: try! DNSName("hostmaster.lab.test."), serial: serial,
            refresh: 3600, retry: 600, expire: 1_209_600, minimum: 300)))
    }
    static func a(_ name: String, _ last: UInt8) -> ResourceRecord {
        ResourceRecord(name: try! DNSName(name), type: .a, ttl: 300, rdata: .a(IPv4Address(192, 0, 2, last)))
    }

    /// Records packed into answer messages of `per` records each, as a primary would send them.
    static func messages(_ rrs: [ResourceRecord], per: Int = 2, type: RRType = .axfr, id: UInt16 = 9) -> [[UInt8]] {
        stride(from: 0, to: rrs.count, by: per).map { i in
            var m = Message()
            m.header = Header(id: id)
            m.header.qr = true
            m.header.aa = true
            m.questions = [Question(name: zone, type: type)]
            m.answers = Array(rrs[i..<min(rrs.count, i + per)])
            return m.wireBytes()
        }
    }

    static func read(_ msgs: [[UInt8]], asked: RRType = .axfr, ours: UInt32? = nil, maxRecords: Int = 1000) throws(TransferError) -> Received {
        var r = TransferReader(zone: zone, asked: asked, ours: ours, maxRecords: maxRecords)
        for (i, m) in msgs.enumerated() {
            let done = try r.add(m)
            if done && i != msgs.count - 1 { throw TransferError("done before the last message") }
        }
        return try r.result()
    }

    static func fails(_ msgs: [[UInt8]], asked: RRType = .axfr, ours: UInt32? = nil, maxRecords: Int = 1000, _ containing: String) -> Bool {
        do {
            _ = try read(msgs, asked: asked, ours: ours, maxRecords: maxRecords)
            return false
        } catch {
            return error.description.contains(containing)
        }
    }

    let body = [a("ns1.lab.test.", 53), a("nas.lab.test.", 66), a("www.lab.test.", 80)]

    @Test("AXFR across messages: the zone whole, the SOA once")
    func axfr() throws {
        let got = try Self.read(Self.messages([Self.soa(7)] + body + [Self.soa(7)]))
        #expect(got == .whole(records: [Self.soa(7)] + body, serial: 7))
    }

    @Test("IXFR: up to date, a chain of two differences, AXFR-style, and 'ask for AXFR'")
    func ixfr() throws {
        #expect(try Self.read(Self.messages([Self.soa(5)], type: .ixfr), asked: .ixfr, ours: 5) == .upToDate(serial: 5))
        #expect(try Self.read(Self.messages([Self.soa(9)], type: .ixfr), asked: .ixfr, ours: 5) == .askWhole(serial: 9))
        let chain = [Self.soa(7), Self.soa(5), body[0], Self.soa(6), body[1], Self.soa(6), Self.soa(7), body[2], Self.soa(7)]
        let got = try Self.read(Self.messages(chain, per: 3, type: .ixfr), asked: .ixfr, ours: 5)
        #expect(got == .incremental(diffs: [SerialDiff(oldSOA: Self.soa(5), removed: [body[0]], newSOA: Self.soa(6), added: [body[1]]),
                                            SerialDiff(oldSOA: Self.soa(6), removed: [], newSOA: Self.soa(7), added: [body[2]])], serial: 7))
        let axfrStyle = try Self.read(Self.messages([Self.soa(7)] + body + [Self.soa(7)], type: .ixfr), asked: .ixfr, ours: 5)
        #expect(axfrStyle == .whole(records: [Self.soa(7)] + body, serial: 7))
    }

    @Test("refused: truncated, closing SOA of another serial, records after the end, a record outside the zone, too many records, an error RCODE")
    func hostile() {
        let whole = [Self.soa(7)] + body + [Self.soa(7)]
        #expect(Self.fails(Array(Self.messages(whole).dropLast()), "ended before"))
        #expect(Self.fails(Self.messages([Self.soa(7)] + body + [Self.soa(8)]), "closing SOA"))
        #expect(Self.fails(Self.messages(whole + [Self.a("late.lab.test.", 1)], per: 100), "after the closing SOA"))
        #expect(Self.fails(Self.messages([Self.soa(7), Self.a("evil.example.", 6)] + body + [Self.soa(7)]), "outside the zone"))
        #expect(Self.fails(Self.messages(whole), maxRecords: 3, "more than 3 records"))
        #expect(Self.fails(Self.messages([Self.a("ns1.lab.test.", 1), Self.soa(7)]), "does not start with the zone's SOA"))
        var refused = Message()
        refused.header = Header(id: 9)
        refused.header.qr = true
        refused.rcode = .refused
        refused.questions = [Question(name: Self.zone, type: .axfr)]
        #expect(Self.fails([refused.wireBytes()], "REFUSED"))
        #expect(Self.fails([[0, 9, 0x80, 0, 0, 1]], "unreadable"))
        // An IXFR chain that does not start at our serial, or that skips a serial.
        #expect(Self.fails(Self.messages([Self.soa(7), Self.soa(4), Self.soa(7), Self.soa(7)], type: .ixfr), asked: .ixfr, ours: 5, "our copy is at 5"))
        #expect(Self.fails(Self.messages([Self.soa(7), Self.soa(5), Self.soa(6), Self.soa(3), Self.soa(7), Self.soa(7)], type: .ixfr), asked: .ixfr, ours: 5, "ended at 6"))
        // A transfer for another zone's question.
        var other = Self.messages(whole)
        var m = try! Message.parse(other[0])
        m.questions = [Question(name: try! DNSName("other.test."), type: .axfr)]
        other[0] = m.wireBytes()
        #expect(Self.fails(other, "not lab.test."))
    }
}

import DNSWire
import DNSZone
import Testing
import TestSupport
@testable import DNSServer

@Suite struct QueryEngineTests {
    static let catalog: Catalog = {
        let text = """
            $ORIGIN jamfox.dev.
            $TTL 3600
            @ SOA rpi0 hostmaster 1 3600 600 1209600 300
            @ NS rpi0
            * A 192.168.10.80
            rpi0 A 192.168.10.53
            many A 10.0.0.1
            many A 10.0.0.2
            many A 10.0.0.3
            many A 10.0.0.4
            many A 10.0.0.5
            many A 10.0.0.6
            many A 10.0.0.7
            many A 10.0.0.8
            many A 10.0.0.9
            many A 10.0.0.10
            many A 10.0.0.11
            many A 10.0.0.12
            many A 10.0.0.13
            many A 10.0.0.14
            many A 10.0.0.15
            many A 10.0.0.16
            many A 10.0.0.17
            many A 10.0.0.18
            many A 10.0.0.19
            many A 10.0.0.20
            many A 10.0.0.21
            many A 10.0.0.22
            many A 10.0.0.23
            many A 10.0.0.24
            many A 10.0.0.25
            many A 10.0.0.26
            many A 10.0.0.27
            many A 10.0.0.28
            many A 10.0.0.29
            many A 10.0.0.30
            many A 10.0.0.31
            many A 10.0.0.32
            """
        return ZoneText.catalog([ZoneText.zone(text)])
    }()

    let engine = QueryEngine(ednsUDPPayload: 1232)

    func respond(_ q: [UInt8], _ t: Transport = .udp) -> Message? {
        var w = WireWriter()
        guard engine.respond(to: q, transport: t, routes: RouteTable(catalog: Self.catalog), into: &w) else { return nil }
        return try? Message.parse(w.bytes)
    }

    func query(_ name: String, _ type: RRType, edns: EDNS? = EDNS(), flags: UInt16 = 0) -> [UInt8] {
        var m = Message.query(try! DNSName(name), type, id: 0xBEEF, recursionDesired: false, edns: edns)
        m.header.flags |= flags
        return m.wireBytes()
    }

    @Test func answersAuthoritativelyAndKeepsIDCaseAndRD() throws {
        let r = try #require(respond(query("RPI0.jamfox.DEV.", .a, flags: 0x0100)))
        #expect(r.header.id == 0xBEEF && r.header.qr && r.header.aa && r.header.rd && !r.header.ra)
        #expect(r.questions[0].name.description == "RPI0.jamfox.DEV.")
        #expect(r.answers.map(\.rdata) == [.a(IPv4Address(192, 168, 10, 53))])
        #expect(r.edns?.udpPayloadSize == 1232)
    }

    @Test("drop: shorter than a header, or a response")
    func drops() {
        #expect(respond([1, 2, 3]) == nil)
        var q = query("rpi0.jamfox.dev.", .a)
        q[2] |= 0x80
        #expect(respond(q) == nil)
    }

    @Test func headerGate() throws {
        #expect(respond(query("rpi0.jamfox.dev.", .a, flags: 2 << 11))?.rcode == .notImp)
        // NOTIFY asks about an SOA (RFC 1996 §3.7); this engine alone is no secondary of anything.
        #expect(respond(query("rpi0.jamfox.dev.", .a, flags: 4 << 11))?.rcode == .formErr)
        #expect(respond(query("jamfox.dev.", .soa, flags: 4 << 11))?.rcode == .notAuth)
        #expect(respond(query("rpi0.jamfox.dev.", .a) + [0])?.rcode == .formErr)
        // A header-only FORMERR keeps the query's opcode, RD and CD, and sets nothing else but QR.
        let malformed = try #require(respond(query("rpi0.jamfox.dev.", .a, flags: 0x0110) + [0]))
        #expect(malformed.rcode == .formErr && malformed.header.rd && malformed.header.cd && malformed.header.qr)
        #expect(!malformed.header.aa && !malformed.header.tc && malformed.header.opcode == .query && malformed.questions.isEmpty)
        var two = Message.query(try DNSName("a.jamfox.dev."), .a)
        two.questions.append(two.questions[0])
        #expect(respond(two.wireBytes())?.rcode == .formErr)
        var v1 = EDNS()
        v1.version = 1
        let bad = try #require(respond(query("rpi0.jamfox.dev.", .a, edns: v1)))
        #expect(bad.rcode == .badVers && bad.edns?.version == 0 && bad.answers.isEmpty)
    }

    @Test func refusedOutsideZonesWithExtendedError() throws {
        let r = try #require(respond(query("example.com.", .a)))
        #expect(r.rcode == .refused && !r.header.aa)
        #expect(r.edns?.extendedErrors.first?.code == .notAuthoritative)
        var ch = Message.query(try DNSName("version.bind."), .txt)
        ch.questions[0].qclass = .ch
        #expect(respond(ch.wireBytes())?.rcode == .refused)
    }

    @Test func transfersAndMetaTypes() {
        #expect(respond(query("jamfox.dev.", .axfr), .udp)?.rcode == .notImp)
        #expect(respond(query("jamfox.dev.", .axfr), .tcp)?.rcode == .refused)
        #expect(respond(query("jamfox.dev.", .opt))?.rcode == .formErr)
        #expect(respond(query("jamfox.dev.", RRType(0)))?.rcode == .notImp)
    }

    @Test("UDP size: 512 without EDNS, the client's size up to 1232 with it; TCP gets everything")
    func sizes() throws {
        // 32 A records (545 bytes) do not fit in 512: TC, whole RRset dropped (RFC 2181 §9).
        let plain = try #require(respond(query("many.jamfox.dev.", .a, edns: nil)))
        #expect(plain.header.tc && plain.answers.isEmpty)
        let edns = try #require(respond(query("many.jamfox.dev.", .a)))
        #expect(!edns.header.tc && edns.answers.count == 32)
        // Below 512 the floor of 512 applies (RFC 6891 §6.2.5).
        let small = try #require(respond(query("many.jamfox.dev.", .a, edns: EDNS(udpPayloadSize: 100))))
        #expect(small.header.tc && small.answers.isEmpty)
        let tcp = try #require(respond(query("many.jamfox.dev.", .a), .tcp))
        #expect(tcp.answers.count == 32 && !tcp.header.tc)
    }

    @Test func doBitIsCopied() throws {
        #expect(try #require(respond(query("rpi0.jamfox.dev.", .a, edns: EDNS(dnssecOK: true)))).edns?.dnssecOK == true)
        #expect(try #require(respond(query("rpi0.jamfox.dev.", .a))).edns?.dnssecOK == false)
    }
}

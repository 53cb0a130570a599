#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import DNSTSIG
import DNSWire
import DNSZone
import Testing
import TestSupport
@testable import DNSServer

/// Zone transfers through the pipeline: who may have them, AXFR's and IXFR's message sequences, TSIG on
/// every message of the stream, and the answers that are not streams (refusals, the single SOA).
@Suite struct TransferTests {
    static let zone = ZoneText.zone(ZoneText.lab)
    static let catalog = ZoneText.catalog([zone])
    static let key = TSIGKey(name: try! DNSName("xfr."), algorithm: .hmacSHA256, secret: Array("0123456789abcdef0123456789abcdef".utf8))
    static let allowLoopbackOrKey = """
        [zone."lab.test."]
        allow_transfer = ["127.0.0.0/8", "key xfr"]
        """

    static func query(_ type: RRType, serial: UInt32? = nil, zone: String = "lab.test.", id: UInt16 = 41) -> [UInt8] {
        var m = Message.query(try! DNSName(zone), type, id: id, recursionDesired: false, edns: nil)
        if let serial {
            m.authority = [ResourceRecord(name: try! DNSName(zone), type: .soa, ttl: 0, rdata: .soa(SOA(
                mname: try! DNSName("ns1.lab.test."), rname: try! DNSName("hostmaster.lab.test."), serial: serial,
                refresh: 0, retry: 0, expire: 0, minimum: 0)))]
        }
        return m.wireBytes()
    }

    /// Every record of the messages in order, the SOA framing included.
    static func records(_ messages: [[UInt8]]) -> [ResourceRecord] {
        messages.flatMap { (try? Message.parse($0))?.answers ?? [] }
    }

    @Test("nothing is transferred by default; allow_transfer by prefix lets exactly that prefix have it")
    func allowTransfer() throws {
        let closed = try PipelineHarness(catalog: Self.catalog, memoSlots: 0)
        #expect(closed.ask(Self.query(.axfr), from: "127.0.0.1", transport: .tcp).answer?.rcode == .refused)
        #expect(closed.metrics.load(MetricBlock.extraBase + MetricBlock.Extra.transfersRefused.rawValue) == 1)

        let h = try PipelineHarness(catalog: Self.catalog, config: Self.allowLoopbackOrKey, memoSlots: 0)
        #expect(h.ask(Self.query(.axfr), from: "192.168.1.7", transport: .tcp).answer?.rcode == .refused)
        let ok = h.ask(Self.query(.axfr), from: "127.0.0.1", transport: .tcp)
        #expect(ok.outcome == .transfer(TransferPlan(query: TransferQuery.placeholder, signer: nil)))
        #expect(!ok.messages.isEmpty)
        // Not a zone served here, or not its apex: NOTAUTH.
        #expect(h.ask(Self.query(.axfr, zone: "other.test."), from: "127.0.0.1", transport: .tcp).answer?.rcode == .notAuth)
        #expect(h.ask(Self.query(.axfr, zone: "nas.lab.test."), from: "127.0.0.1", transport: .tcp).answer?.rcode == .notAuth)
    }

    @Test("AXFR: SOA first and last, every record of the zone once in between, AA set, the question copied")
    func axfrSequence() throws {
        let h = try PipelineHarness(catalog: Self.catalog, config: Self.allowLoopbackOrKey, memoSlots: 0)
        let r = h.ask(Self.query(.axfr), from: "127.0.0.1", transport: .tcp)
        let rrs = Self.records(r.messages)
        #expect(rrs.first?.type == .soa && rrs.last?.type == .soa && rrs.count >= 2)
        let inner = Set(rrs.dropFirst().dropLast().map { "\($0)" })
        let zone = Set(Self.zone.allNodes.flatMap { $0.node.rrsets.values.flatMap { $0.records() } }.filter { $0.type != .soa }.map { "\($0)" })
        #expect(inner == zone)
        #expect(rrs.count == zone.count + 2)
        let first = try Message.parse(r.messages[0])
        #expect(first.header.aa && first.header.id == 41 && first.questions.first?.type == .axfr)
    }

    @Test("a zone too big for one message streams as many, each within 65,535 bytes, with every record once")
    func bigZone() throws {
        var text = ZoneText.lab + "\n"
        for i in 0..<20_000 { text += "host\(i) A 10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255)\n" }
        text += "alias CNAME host7\nmail MX 10 host8\n"
        let zone = ZoneText.zone(text)
        let h = try PipelineHarness(catalog: ZoneText.catalog([zone]), config: Self.allowLoopbackOrKey, memoSlots: 0)
        let r = h.ask(Self.query(.axfr), from: "127.0.0.1", transport: .tcp)
        #expect(r.messages.count > 3)
        #expect(r.messages.allSatisfy { $0.count <= 65535 })
        let rrs = Self.records(r.messages)
        #expect(rrs.count == zone.recordCount + 1, "SOA twice, the rest once: \(rrs.count) vs \(zone.recordCount)")
        #expect(Set(rrs.map { "\($0)" }).count == zone.recordCount)
        #expect(rrs.contains { $0.type == .cname && $0.rdata == .cname(try! DNSName("host7.lab.test.")) })
    }

    @Test("a signed AXFR: every message carries a TSIG that verifies, the first against the request's MAC, each later one against the one before (RFC 8945 §4.4)")
    func signedStream() throws {
        var text = ZoneText.lab + "\n"
        for i in 0..<6_000 { text += "h\(i) TXT \"\(String(repeating: "x", count: 20))\"\n" }
        let h = try PipelineHarness(catalog: ZoneText.catalog([ZoneText.zone(text)]), config: Self.allowLoopbackOrKey, memoSlots: 0, keys: [Self.key])
        let now = UInt64(time(nil))
        let (signed, requestMAC) = TSIG.sign(Self.query(.axfr), key: Self.key, time: now)!
        // From outside the prefix: the key alone lets it through.
        let r = h.ask(signed, from: "192.168.1.7", transport: .tcp)
        #expect(r.messages.count > 1)
        var prior = requestMAC
        for (i, m) in r.messages.enumerated() {
            let split = try #require(try TSIG.split(m))
            let v = TSIG.verify(split, keys: { $0 == Self.key.name ? Self.key : nil }, now: now, requestMAC: prior, timersOnly: i > 0)
            #expect((try? v.get()) == Self.key, "message \(i): \(v)")
            prior = split.tsig.mac
        }
        // Unsigned from the same address: refused.
        #expect(h.ask(Self.query(.axfr), from: "192.168.1.7", transport: .tcp).answer?.rcode == .refused)
    }

    @Test("a refused signed transfer is answered REFUSED, signed")
    func signedRefusal() throws {
        let other = TSIGKey(name: try! DNSName("other."), algorithm: .hmacSHA256, secret: Array(repeating: 7, count: 32))
        let h = try PipelineHarness(catalog: Self.catalog, config: Self.allowLoopbackOrKey, memoSlots: 0, keys: [Self.key, other])
        let now = UInt64(time(nil))
        let (signed, mac) = TSIG.sign(Self.query(.axfr), key: other, time: now)!
        let r = h.ask(signed, from: "192.168.1.7", transport: .tcp)
        #expect(r.answer?.rcode == .refused)
        let split = try #require(try TSIG.split(r.bytes ?? []))
        #expect((try? TSIG.verify(split, keys: { _ in other }, now: now, requestMAC: mac).get()) == other)
    }

    @Test("IXFR: up to date (or newer) gets the single SOA; a journal that reaches gives the differences in order; one that does not, the zone AXFR-style")
    func ixfr() throws {
        let h = try PipelineHarness(catalog: Self.catalog, config: Self.allowLoopbackOrKey, memoSlots: 0)
        for serial: UInt32 in [1, 5] {  // the zone's serial is 1
            let r = h.ask(Self.query(.ixfr, serial: serial), from: "127.0.0.1", transport: .tcp)
            #expect(r.outcome != .transfer(TransferPlan(query: .placeholder, signer: nil)))
            #expect(r.answer?.answers.map(\.type) == [.soa] && r.answer?.header.aa == true)
        }
        // Journal for a serial 0 -> 1 change: one record added.
        let old = Self.soa(0), new = Self.soa(1)
        let added = ResourceRecord(name: try DNSName("nas.lab.test."), type: .a, ttl: 300, rdata: .a(IPv4Address(192, 0, 2, 66)))
        h.journal = { _, from, to in from == 0 && to == 1 ? [SerialDiff(oldSOA: old, removed: [], newSOA: new, added: [added])] : nil }
        let r = h.ask(Self.query(.ixfr, serial: 0), from: "127.0.0.1", transport: .tcp)
        let rrs = Self.records(r.messages)
        #expect(rrs.map(\.type) == [.soa, .soa, .soa, .a, .soa])
        #expect(rrs.compactMap { $0.rdata.soa?.serial } == [1, 0, 1, 1])
        // Serial 4294967295 is "older" than 1 (RFC 1982), and the journal does not reach: the whole zone.
        let whole = Self.records(h.ask(Self.query(.ixfr, serial: 4_294_967_295), from: "127.0.0.1", transport: .tcp).messages)
        #expect(whole.count == Self.zone.recordCount + 1 && whole.first?.type == .soa && whole.last?.type == .soa)
    }

    @Test("over UDP: AXFR is NOTIMP, IXFR the single SOA; IXFR without the client's SOA is FORMERR")
    func udp() throws {
        let h = try PipelineHarness(catalog: Self.catalog, config: Self.allowLoopbackOrKey, memoSlots: 0)
        #expect(h.ask(Self.query(.axfr), from: "127.0.0.1").answer?.rcode == .notImp)
        #expect(h.ask(Self.query(.ixfr, serial: 0), from: "127.0.0.1").answer?.answers.map(\.type) == [.soa])
        #expect(h.ask(Self.query(.ixfr, serial: 0), from: "192.168.1.7").answer?.rcode == .refused)
        #expect(h.ask(Self.query(.ixfr), from: "127.0.0.1", transport: .tcp).answer?.rcode == .formErr)
    }

    static func soa(_ serial: UInt32) -> ResourceRecord {
        ResourceRecord(name: try! DNSName("lab.test."), type: .soa, ttl: 300, rdata: .soa(SOA(
            mname: try! DNSName("ns1.lab.test."), rname: try! DNSName("hostmaster.lab.test."), serial: serial,
            refresh: 3600, retry: 600, expire: 1_209_600, minimum: 300)))
    }
}

extension TransferQuery {
    /// Any query: `Outcome` compares transfers by kind only.
    static let placeholder = TransferQuery(id: 0, flags: 0, question: Question(name: .root, type: .axfr), zone: TransferTests.zone,
                                           clientSerial: nil, edns: false, transport: .tcp)
}

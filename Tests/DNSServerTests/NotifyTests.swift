import DNSForward
import DNSTSIG
import DNSWire
import DNSZone
import JamLog
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import DNSServer

/// NOTIFY in (RFC 1996 §3.10) and a secondary zone without a current copy, through the pipeline.
@Suite struct NotifyTests {
    static let served = ZoneText.catalog([ZoneText.zone(ZoneText.lab)])
    static let key = TSIGKey(name: try! DNSName("xfr."), algorithm: .hmacSHA256, secret: Array(repeating: 5, count: 32))

    static func secondaries(key: DNSName? = nil, zones: [String] = ["lab.test.", "copy.test."]) -> Secondaries {
        Secondaries(zones: zones.map { Secondaries.Zone(name: try! DNSName($0), primaries: [UpstreamServer("127.0.0.1:5300")!], key: key) },
                    path: "/nonexistent/store.sqlite", keys: KeyBox(KeyRing([Self.key])), logger: Logger(label: "test"), served: served)
    }

    static func notify(_ zone: String, id: UInt16 = 3) -> [UInt8] {
        var m = Message.query(try! DNSName(zone), .soa, id: id, recursionDesired: false, edns: nil)
        m.header.opcode = .notify
        m.header.aa = true
        return m.wireBytes()
    }

    @Test("a NOTIFY from a primary is acknowledged (AA, NOERROR, opcode NOTIFY); from anyone else REFUSED; for a zone we are not a secondary of NOTAUTH")
    func verdicts() throws {
        let h = try PipelineHarness(catalog: Self.served, memoSlots: 0, secondaries: Self.secondaries())
        let ok = try #require(h.ask(Self.notify("lab.test."), from: "127.0.0.1").answer)
        #expect(ok.rcode == .noError && ok.header.aa && ok.header.opcode == .notify && ok.header.id == 3 && ok.questions.first?.type == .soa)
        #expect(h.ask(Self.notify("lab.test."), from: "192.168.1.7").answer?.rcode == .refused)
        #expect(h.ask(Self.notify("other.test."), from: "127.0.0.1").answer?.rcode == .notAuth)
    }

    @Test("with a zone key, an unsigned NOTIFY from the primary is refused and a signed one acknowledged, signed")
    func keyed() throws {
        let h = try PipelineHarness(catalog: Self.served, memoSlots: 0, keys: [Self.key], secondaries: Self.secondaries(key: Self.key.name))
        #expect(h.ask(Self.notify("lab.test."), from: "127.0.0.1").answer?.rcode == .refused)
        let now = UInt64(time(nil))
        let (signed, mac) = TSIG.sign(Self.notify("lab.test."), key: Self.key, time: now)!
        let r = h.ask(signed, from: "127.0.0.1")
        #expect(r.answer?.rcode == .noError)
        let split = try #require(try TSIG.split(r.bytes ?? []))
        #expect((try? TSIG.verify(split, keys: { _ in Self.key }, now: now, requestMAC: mac).get()) == Self.key)
    }

    @Test("a secondary zone with no copy yet answers SERVFAIL (EDE Not Ready), also from the memo's point of view; other names are untouched")
    func notReady() throws {
        let h = try PipelineHarness(catalog: Self.served, memoSlots: 64, secondaries: Self.secondaries())
        for _ in 0..<2 {
            let r = try #require(h.ask("www.copy.test.", .a).answer)
            #expect(r.rcode == .servFail && r.edns?.extendedErrors.first?.code == .notReady)
        }
        // lab.test. is a configured secondary too, but it has a copy (served): answered.
        #expect(h.ask("nas.lab.test.", .a).answer?.answers.count == 1)
    }
}

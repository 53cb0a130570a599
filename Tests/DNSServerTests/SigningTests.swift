#if canImport(Glibc)
import Glibc
#endif
import DNSTSIG
import DNSWire
import DNSZone
import Testing
import TestSupport
@testable import DNSServer

/// The TSIG stage of the pipeline (RFC 8945 §5.2, §5.3): a signed query verified and its answer signed, and
/// each way a TSIG can fail answered as the RFC says.
@Suite struct SigningTests {
    static let catalog = ZoneText.catalog([ZoneText.zone(ZoneText.lab)])
    static let key = TSIGKey(name: try! DNSName("ops."), algorithm: .hmacSHA256, secret: Array(repeating: 0x42, count: 32))

    static func query(id: UInt16 = 77, edns: EDNS? = EDNS()) -> [UInt8] {
        Message.query(try! DNSName("nas.lab.test."), .a, id: id, recursionDesired: false, edns: edns).wireBytes()
    }

    static func tsig(_ answer: [UInt8]?) -> TSIGRecord? { answer.flatMap { try? TSIG.split($0)?.tsig } }

    @Test("a signed query gets its answer signed with the same key, over the request's MAC; it bypasses the memo")
    func signedAnswer() throws {
        let h = try PipelineHarness(catalog: Self.catalog, keys: [Self.key])
        let now = UInt64(time(nil))
        for _ in 0..<2 {  // the second time would be a memo hit if signed queries reached the memo
            let (signed, mac) = TSIG.sign(Self.query(), key: Self.key, time: now)!
            let r = h.ask(signed)
            #expect(r.answer?.answers.count == 1)
            let split = try #require(try TSIG.split(r.bytes ?? []))
            #expect((try? TSIG.verify(split, keys: { _ in Self.key }, now: now, requestMAC: mac).get()) == Self.key)
        }
        // And an unsigned query still gets an unsigned answer (and the memo).
        #expect(Self.tsig(h.ask(Self.query()).bytes) == nil)
    }

    @Test("the fast check passes over plain queries and never over a signed one")
    func mayBeSigned() throws {
        func check(_ q: [UInt8]) -> Bool { q.withUnsafeBytes { Signing.mayBeSigned($0, RawQuestion($0)) } }
        #expect(!check(Self.query()))
        #expect(!check(Self.query(edns: nil)))
        var cookie = EDNS()
        cookie.options.append(.init(code: 10, data: Array(repeating: 1, count: 8)))
        #expect(!check(Self.query(edns: cookie)))
        #expect(check(TSIG.sign(Self.query(), key: Self.key, time: 1)!.message))
        #expect(check(TSIG.sign(Self.query(edns: nil), key: Self.key, time: 1)!.message))
    }

    @Test("unknown key: NOTAUTH with BADKEY and no MAC; wrong MAC: BADSIG; bad time: BADTIME, signed, with our time")
    func failures() throws {
        let h = try PipelineHarness(catalog: Self.catalog, keys: [Self.key])
        let now = UInt64(time(nil))

        let stranger = TSIGKey(name: try DNSName("stranger."), algorithm: .hmacSHA256, secret: Array(repeating: 1, count: 32))
        let badKey = h.ask(TSIG.sign(Self.query(), key: stranger, time: now)!.message)
        #expect(badKey.answer?.rcode == .notAuth)
        let bk = try #require(Self.tsig(badKey.bytes))
        #expect(bk.error == TSIGError.badKey.rawValue && bk.mac.isEmpty && bk.keyName == stranger.name)

        // The right name and algorithm, another secret: the MAC is wrong.
        let forged = TSIGKey(name: Self.key.name, algorithm: .hmacSHA256, secret: Array(repeating: 9, count: 32))
        let badSig = h.ask(TSIG.sign(Self.query(), key: forged, time: now)!.message)
        #expect(badSig.answer?.rcode == .notAuth)
        let bs = try #require(Self.tsig(badSig.bytes))
        #expect(bs.error == TSIGError.badSig.rawValue && bs.mac.isEmpty)

        // Our key, signed an hour ago (fudge 300): BADTIME, and the answer verifies with the key.
        let (old, mac) = TSIG.sign(Self.query(), key: Self.key, time: now - 3600)!
        let badTime = h.ask(old)
        #expect(badTime.answer?.rcode == .notAuth)
        let bt = try #require(Self.tsig(badTime.bytes))
        #expect(bt.error == TSIGError.badTime.rawValue && bt.timeSigned == now - 3600 && bt.otherData.count == 6)
        let ours = bt.otherData.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(ours >= now && ours <= now + 60)
        let split = try #require(try TSIG.split(badTime.bytes ?? []))
        // The response carries the request's time: verified at that time it is right.
        #expect((try? TSIG.verify(split, keys: { _ in Self.key }, now: now - 3600, requestMAC: mac).get()) == Self.key)

        // A TSIG that is not the last record: FORMERR.
        var m = try Message.parse(TSIG.sign(Self.query(edns: nil), key: Self.key, time: now)!.message)
        m.additional.append(ResourceRecord(name: try DNSName("x.lab.test."), type: .a, ttl: 0, rdata: .a(IPv4Address(1, 2, 3, 4))))
        #expect(h.ask(m.wireBytes()).answer?.rcode == .formErr)

        for c: MetricBlock.Extra in [.tsigBadKey, .tsigBadSig, .tsigBadTime, .tsigFormErr] {
            #expect(h.metrics.load(MetricBlock.extraBase + c.rawValue) == 1, "\(c)")
        }
    }

    @Test("a signed query with no keys at all is BADKEY, not answered as if unsigned")
    func noKeys() throws {
        let h = try PipelineHarness(catalog: Self.catalog)
        let r = h.ask(TSIG.sign(Self.query(), key: Self.key, time: UInt64(time(nil)))!.message)
        #expect(r.answer?.rcode == .notAuth && Self.tsig(r.bytes)?.error == TSIGError.badKey.rawValue)
    }

    @Test("a signed answer that would not fit a UDP payload with its TSIG is truncated, and still signed")
    func truncatedSigned() throws {
        var text = ZoneText.lab + "\n"
        for i in 0..<40 { text += "big TXT \"\(String(repeating: "t", count: 30))\(i)\"\n" }
        let h = try PipelineHarness(catalog: ZoneText.catalog([ZoneText.zone(text)]), keys: [Self.key])
        let q = Message.query(try DNSName("big.lab.test."), .txt, id: 5, recursionDesired: false, edns: EDNS(udpPayloadSize: 1232)).wireBytes()
        let now = UInt64(time(nil))
        let (signed, mac) = TSIG.sign(q, key: Self.key, time: now)!
        let r = h.ask(signed)
        let bytes = try #require(r.bytes)
        #expect(bytes.count <= 1232)
        #expect(r.answer?.header.tc == true)
        let split = try #require(try TSIG.split(bytes))
        #expect((try? TSIG.verify(split, keys: { _ in Self.key }, now: now, requestMAC: mac).get()) == Self.key)
    }

    @Test("answers to bad TSIGs pass the rate limiter like every other answer (no unlimited reflection with a forged key)")
    func failuresAreRateLimited() throws {
        let h = try PipelineHarness(catalog: Self.catalog, config: "[rate_limit]\nresponses_per_second = 5\nslip = 0\nipv4_prefix = 32\n", keys: [Self.key])
        h.freezeClock()
        let stranger = TSIGKey(name: try DNSName("stranger."), algorithm: .hmacSHA256, secret: Array(repeating: 1, count: 32))
        var answered = 0
        for i in 0..<40 {
            if h.ask(TSIG.sign(Self.query(id: UInt16(i)), key: stranger, time: UInt64(time(nil)))!.message, from: "198.51.100.9").answer != nil { answered += 1 }
        }
        #expect(answered == 5, "\(answered) of 40 answered")
        #expect(h.metrics.extra(.tsigBadKey) == 40)
    }
}

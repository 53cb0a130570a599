import DNSForward
import DNSWire
import DNSZone
import Testing
import TestSupport
@testable import DNSServer

/// The query pipeline stage by stage, without sockets: ACL before the memo, the memo's answers counted as
/// what they are, local data, the resolver, the rate limiter on every answer (forwarded ones too), and one
/// observation per query.
@Suite struct PipelineTests {
    static let catalog = ZoneText.catalog([ZoneText.zone(ZoneText.lab)])

    /// An upstream that knows one public name and says NXDOMAIN for the rest.
    static let internet: FakeUpstream.Answer = { q, _ in
        let name = q.questions[0].name
        if name == (try! DNSName("www.public.test.")) {
            return .success(FakeUpstream.reply(to: q, [ResourceRecord(name: name, type: .a, ttl: 60, rdata: .a(IPv4Address(203, 0, 113, 80)))]))
        }
        return .success(FakeUpstream.reply(to: q, [], nxdomain: true))
    }

    @Test("the ACL comes before the memo: a memoised answer never reaches a client that may not ask")
    func aclBeforeMemo() throws {
        let h = try PipelineHarness(catalog: Self.catalog, config: "[server]\nallow_query = [\"192.168.1.0/24\"]\n")
        #expect(h.ask("nas.lab.test.", .a).answer?.answers.count == 1)
        #expect(h.ask("nas.lab.test.", .a).answer?.answers.count == 1, "from the memo")
        let refused = h.ask("nas.lab.test.", .a, from: "198.51.100.9")
        #expect(refused.answer?.rcode == .refused && refused.answer?.answers.isEmpty == true)
        #expect(h.metrics.answered(.authoritative) == 2 && h.metrics.answered(.refused) == 1)
    }

    @Test("memo hits count as what they are: a memoised REFUSED is 'refused', a NOTIMP 'local'")
    func memoSources() {
        let h = try! PipelineHarness(catalog: Self.catalog)
        for _ in 0..<3 { #expect(h.ask("www.example.org.", .a).answer?.rcode == .refused) }  // no resolver: not ours
        #expect(h.metrics.answered(.refused) == 3 && h.metrics.answered(.authoritative) == 0, "\(h.metrics.answered(.authoritative))")
        var notify = Message.query(try! DNSName("lab.test."), .soa, id: 9)
        notify.header.opcode = Opcode(rawValue: 5)
        for _ in 0..<2 { #expect(h.ask(notify.wireBytes()).answer?.rcode == .notImp) }
        #expect(h.metrics.answered(.local) == 2)
    }

    @Test("names outside the zones go to the resolver, answers come back through the responder, observed once")
    func resolverThroughThePipeline() throws {
        let h = try PipelineHarness(catalog: Self.catalog, upstream: Self.internet)
        let r = h.ask("www.public.test.", .a)
        #expect(r.outcome == .later && r.answer?.answers.first?.rdata == .a(IPv4Address(203, 0, 113, 80)))
        #expect(h.metrics.answered(.forward) == 1)
        let again = h.ask("www.public.test.", .a)
        #expect(again.outcome == .reply(size: again.bytes?.count ?? 0, source: .cache) && h.metrics.answered(.cache) == 1)
        #expect(h.upstream?.questions == ["www.public.test. A"], "the second came from the cache")
        #expect(h.metrics.answeredTotal == 2)
    }

    @Test("a zone that falls through: what it lacks is resolved; an upstream NXDOMAIN for a name it has is NODATA")
    func fallsThrough() throws {
        let zone = ZoneText.zone(ZoneText.lab.replacing("* A 192.0.2.80\n", with: ""), fallthrough: .types)
        let h = try PipelineHarness(catalog: ZoneText.catalog([zone]), upstream: Self.internet)
        let missing = h.ask("minecraft.lab.test.", .a)
        #expect(missing.outcome == .later && missing.answer?.rcode == .nxDomain)
        let nodata = h.ask("nas.lab.test.", .aaaa)
        #expect(nodata.outcome == .later && nodata.answer?.rcode == .noError && nodata.answer?.answers.isEmpty == true)
        #expect(h.ask("nas.lab.test.", .a).answer?.answers.count == 1, "its own data is answered locally")
        #expect(h.upstream?.questions == ["minecraft.lab.test. A", "nas.lab.test. AAAA"])
    }

    @Test("forwarded answers pass the rate limiter like every other UDP answer")
    func rateLimitForwarded() throws {
        let config = """
            [resolver]
            allow_recursion = ["192.0.2.0/24"]
            [rate_limit]
            responses_per_second = 2
            slip = 0
            exempt = ["127.0.0.0/8"]
            """
        let h = try PipelineHarness(catalog: Self.catalog, config: config, upstream: Self.internet)
        var answered = 0
        for i in 0..<20 where h.ask("n\(i).public.test.", .a, from: "192.0.2.7").answer != nil { answered += 1 }
        #expect(answered >= 1 && answered <= 4, "a budget of 2/s with a one-second burst, then silence: \(answered) of 20")
        #expect(h.metrics.extra(.rrlDropped) == UInt64(20 - answered))
        #expect(h.upstream?.questions.count == 20, "the limiter withholds answers; it does not stop the resolver")
        // TCP is never limited.
        #expect(h.ask("n0.public.test.", .a, from: "192.0.2.7", transport: .tcp).answer != nil)
    }

    @Test("malformed input: dropped or FORMERR, never an answer from a stage further down")
    func gate() throws {
        let h = try PipelineHarness(catalog: Self.catalog)
        #expect(h.ask([0, 1, 2]).outcome == .drop)
        var response = Message.query(try DNSName("nas.lab.test."), .a, id: 3).wireBytes()
        response[2] |= 0x80
        #expect(h.ask(response).outcome == .drop, "a response is never answered")
        var two = Message.query(try DNSName("nas.lab.test."), .a, id: 4).wireBytes()
        two[5] = 2
        #expect(h.ask(two).answer?.rcode == .formErr)
        #expect(h.metrics.extra(.dropped) == 2)
    }
}

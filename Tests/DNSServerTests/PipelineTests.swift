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
        for _ in 0..<2 {  // the second would hit the memo if the ACL came after it
            let refused = h.ask("nas.lab.test.", .a, from: "198.51.100.9")
            #expect(refused.answer?.rcode == .refused && refused.answer?.answers.isEmpty == true)
            #expect(refused.answer?.edns?.extendedErrors.first?.code == .prohibited)
        }
        #expect(h.metrics.answered(.authoritative) == 2 && h.metrics.answered(.refused) == 2)
    }

    @Test("memo hits count as what they are: a memoised REFUSED is 'refused', a NOTIMP 'local'")
    func memoSources() {
        let h = try! PipelineHarness(catalog: Self.catalog)
        for _ in 0..<3 { #expect(h.ask("www.example.org.", .a).answer?.rcode == .refused) }  // no resolver: not ours
        #expect(h.metrics.answered(.refused) == 3 && h.metrics.answered(.authoritative) == 0, "\(h.metrics.answered(.authoritative))")
        var notify = Message.query(try! DNSName("lab.test."), .soa, id: 9)
        notify.header.opcode = Opcode(rawValue: 2)  // STATUS: not supported
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

    @Test("recursion only for allow_recursion: others get REFUSED with EDE 18, and still the lab's own names")
    func recursionACL() throws {
        let config = "[resolver]\nallow_recursion = [\"192.168.1.0/24\"]\n"
        let h = try PipelineHarness(catalog: Self.catalog, config: config, upstream: Self.internet)
        #expect(h.ask("www.public.test.", .a).answer?.answers.count == 1)
        let no = try #require(h.ask("www.public.test.", .a, from: "198.51.100.9").answer)
        #expect(no.rcode == .refused && no.edns?.extendedErrors.first?.code == .prohibited)
        let own = try #require(h.ask("nas.lab.test.", .a, from: "198.51.100.9").answer)
        #expect(own.header.aa && own.answers.count == 1)
        #expect(h.upstream?.questions == ["www.public.test. A"], "nothing left the machine for the refused client")
        #expect(h.metrics.answered(.refused) == 1 && h.metrics.answered(.forward) == 1)
    }

    @Test("domain-needed and bogus-priv answer locally (EDE 15); a reverse forward zone still gets its names")
    func resolverPolicies() throws {
        let config = """
            [resolver]
            allow_recursion = ["192.168.1.0/24"]
            [forward."10.in-addr.arpa."]
            servers = ["192.0.2.201"]
            """
        let h = try PipelineHarness(catalog: Self.catalog, config: config, upstream: Self.internet)
        for (name, type) in [("nas.", RRType.a), ("1.0.168.192.in-addr.arpa.", .ptr), ("2.0.0.127.in-addr.arpa.", .ptr)] {
            let m = try #require(h.ask(name, type).answer)
            #expect(m.rcode == .nxDomain && m.edns?.extendedErrors.first?.code == .blocked, "\(name)")
        }
        #expect(h.upstream?.questions.isEmpty == true)
        let rev10 = try #require(h.ask("5.4.3.10.in-addr.arpa.", .ptr).answer)
        #expect(rev10.rcode == .nxDomain && rev10.edns?.extendedErrors.isEmpty != false)
        #expect(h.upstream?.questions == ["5.4.3.10.in-addr.arpa. PTR"] && h.upstream?.zones == [0], "the forward zone, not the default")
        _ = h.ask("nas.example.", .a)
        #expect(h.upstream?.zones == [0, 1], "anything else: the default upstreams")
    }

    @Test("a forward zone with cache = false (Consul): every question goes upstream, TTL 0 passes through")
    func uncachedForwardZone() throws {
        let config = """
            [resolver]
            allow_recursion = ["192.168.1.0/24"]
            [forward."consul."]
            servers = ["192.0.2.202#8600"]
            cache = false
            serve_stale = false
            """
        let consul: FakeUpstream.Answer = { q, zone in
            guard zone == 0 else { return .success(FakeUpstream.reply(to: q, [], nxdomain: true)) }
            let n = q.questions[0].name
            return .success(FakeUpstream.reply(to: q, [ResourceRecord(name: n, type: .a, ttl: 0, rdata: .a(IPv4Address(10, 0, 0, 7)))]))
        }
        let h = try PipelineHarness(catalog: Self.catalog, config: config, upstream: consul)
        for _ in 0..<3 {
            let m = try #require(h.ask("web.service.consul.", .a).answer)
            #expect(m.answers.map(\.ttl) == [0] && m.answers.first?.rdata == .a(IPv4Address(10, 0, 0, 7)))
        }
        #expect(h.upstream?.zones == [0, 0, 0] && h.metrics.answered(.cache) == 0)
    }

    @Test("our own loop token: SERVFAIL at once, nothing sent; another server's token is just an option")
    func loopToken() throws {
        let h = try PipelineHarness(catalog: Self.catalog, config: "[resolver]\nallow_recursion = [\"192.168.1.0/24\"]\n", upstream: Self.internet)
        let token = try #require(h.loopToken)
        let own = try #require(h.ask("www.public.test.", .a, edns: EDNS(options: [EDNSOption(code: 65_042, data: token)])).answer)
        #expect(own.rcode == .servFail && h.upstream?.questions.isEmpty == true)
        let foreign = try #require(h.ask("www.public.test.", .a, edns: EDNS(options: [EDNSOption(code: 65_042, data: [1, 2, 3, 4, 5, 6, 7, 8])])).answer)
        #expect(foreign.rcode == .noError && foreign.answers.count == 1 && h.upstream?.questions.count == 1)
    }

    @Test("every upstream failing: SERVFAIL with EDE 22 through the responder, counted once")
    func upstreamsDead() throws {
        let dead: FakeUpstream.Answer = { _, _ in .failure(.allServersFailed(tried: 2)) }
        let h = try PipelineHarness(catalog: Self.catalog, config: "[resolver]\nallow_recursion = [\"192.168.1.0/24\"]\n", upstream: dead)
        let r = h.ask("www.public.test.", .a)
        #expect(r.outcome == .later && r.answer?.rcode == .servFail)
        #expect(r.answer?.edns?.extendedErrors.first?.code == .noReachableAuthority)
        #expect(h.metrics.answeredTotal == 1)
    }

    @Test("the rate limiter, on a frozen clock: exactly the budget in full, then every 2nd withheld answer as a TC slip")
    func rateLimitBudget() throws {
        let config = """
            [rate_limit]
            responses_per_second = 5
            slip = 2
            ipv4_prefix = 32
            exempt = ["10.0.0.0/8"]
            """
        let h = try PipelineHarness(catalog: Self.catalog, config: config)
        h.freezeClock()
        var full = 0, slipped = 0, silent = 0
        for i in 0..<60 {
            let r = h.ask("nas.lab.test.", .a, from: "198.51.100.9", id: UInt16(i))
            guard let m = r.answer else { silent += 1; continue }
            #expect(m.header.id == UInt16(i))
            if m.header.tc {
                slipped += 1
                #expect(m.answers.isEmpty && m.questions.count == 1)
            } else {
                full += 1
            }
        }
        #expect(full == 5 && slipped == 27 && silent == 28, "\(full) full, \(slipped) slipped, \(silent) silent")
        #expect(h.metrics.extra(.rrlSlipped) == 27 && h.metrics.extra(.rrlDropped) == 28)
        // Another /32, an exempt prefix and TCP from the limited client are answered in full.
        #expect(h.ask("nas.lab.test.", .a, from: "198.51.100.10").answer?.answers.count == 1)
        #expect(h.ask("nas.lab.test.", .a, from: "10.1.2.3").answer?.answers.count == 1)
        #expect(h.ask("nas.lab.test.", .a, from: "198.51.100.9", transport: .tcp).answer?.answers.count == 1)
    }
}

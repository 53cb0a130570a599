import Testing
@testable import DNSForward

@Suite struct UpstreamTests {
    @Test("server addresses: IPv4, IPv6, ports, dnsmasq's # form")
    func parsing() {
        #expect(UpstreamServer("8.8.8.8")?.description == "8.8.8.8:53")
        #expect(UpstreamServer("192.168.10.120:8600")?.port == 8600)
        #expect(UpstreamServer("192.168.10.120#8600")?.description == "192.168.10.120:8600")
        #expect(UpstreamServer("[::1]:5353")?.description == "[::1]:5353")
        #expect(UpstreamServer("2001:db8::1")?.description == "[2001:db8::1]:53")
        #expect(UpstreamServer("2001:db8::1#853")?.port == 853)
        #expect(UpstreamServer("dns.google") == nil)
        #expect(UpstreamServer("1.2.3.4:99999") == nil)
        #expect(UpstreamServer("[::1") == nil)
    }

    @Test("health: two failures in a row mark a server dead, with a back-off that doubles per failed probe; an answer revives it")
    func health() {
        var h = ServerHealth()
        h.failure(now: 0)
        #expect(h.isAlive(now: 0))
        h.failure(now: 0)
        #expect(!h.isAlive(now: 500) && h.isAlive(now: 1000))
        h.failure(now: 1000)
        #expect(!h.isAlive(now: 2500) && h.isAlive(now: 3000))
        // The other questions of the same stall timing out while it is in back-off do not lengthen it.
        for _ in 0..<200 { h.failure(now: 2000) }
        #expect(h.deadUntilMs == 3000 && h.failed == 203)
        // Each probe that fails once the back-off is over doubles it, up to 30 s.
        for _ in 0..<20 { h.failure(now: h.deadUntilMs) }
        let last = h.deadUntilMs
        h.failure(now: last)
        #expect(h.deadUntilMs - last == 30_000)
        h.success(rttMs: 10)
        #expect(h.isAlive(now: 0) && h.consecutiveFailures == 0)
    }

    @Test("selection: alive by latency, then suspects, then dead ones by back-off end")
    func selection() {
        var fast = ServerHealth(), slow = ServerHealth(), suspect = ServerHealth(), dead = ServerHealth()
        fast.rttMs = 5
        slow.rttMs = 80
        suspect.failure(now: 0)
        dead.failure(now: 0)
        dead.failure(now: 0)
        #expect(ServerSelection.order([dead, slow, suspect, fast], now: 10) == [3, 1, 2, 0])
        #expect(ServerSelection.order([dead], now: 10) == [0])  // better a dead server than none
    }
}

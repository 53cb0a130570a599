import Testing
@testable import DDNS

@Suite struct DDNSMetricsTests {
    @Test("one series per provider, name and family; rate limiting only while the wait lasts; health lists failures")
    func exposition() {
        var s = DDNSState()
        var ok = DDNSState.Entry()
        ok.value = "203.0.113.7"
        ok.pushedAt = 1_800_000_000
        ok.lastSuccessAt = 1_800_000_100
        s.entries["cloudflare vpn.jamfox.dev v4"] = ok
        var limited = DDNSState.Entry()
        limited.failures = 2
        limited.failuresTotal = 5
        limited.rateLimited = true
        limited.nextAttemptAt = 1_800_000_500
        limited.lastError = "rate limited, retry after 120 s"
        s.entries["namecheap home.example.org v4"] = limited
        let t = DDNSMetrics.exposition(s, now: 1_800_000_200)
        #expect(t.contains("jamdns_ddns_last_success_timestamp_seconds{provider=\"cloudflare\",name=\"vpn.jamfox.dev\",family=\"v4\"} 1800000100\n"))
        #expect(t.contains("jamdns_ddns_last_success_timestamp_seconds{provider=\"namecheap\",name=\"home.example.org\",family=\"v4\"} 0\n"))
        #expect(t.contains("jamdns_ddns_failures_total{provider=\"namecheap\",name=\"home.example.org\",family=\"v4\"} 5\n"))
        #expect(t.contains("jamdns_ddns_rate_limited{provider=\"namecheap\",name=\"home.example.org\",family=\"v4\"} 1\n"))
        #expect(DDNSMetrics.exposition(s, now: 1_800_000_600).contains("jamdns_ddns_rate_limited{provider=\"namecheap\",name=\"home.example.org\",family=\"v4\"} 0\n"))
        let (status, body) = DDNSMetrics.health(s)
        #expect(status == 503 && body == "failing: namecheap home.example.org v4: rate limited, retry after 120 s\n")
        s.entries["namecheap home.example.org v4"] = ok
        #expect(DDNSMetrics.health(s) == (200, "ok: 2 name(s) up to date\n"))
    }
}

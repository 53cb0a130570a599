import Exposition
import Testing
@testable import DNSServer

@Suite struct ServerMetricsTests {
    @Test("per-thread blocks are summed; only non-zero query series are exported; latency lands in its bucket")
    func sums() {
        let m = ServerMetrics()
        let a = m.block(), b = m.block()
        a.record(qtype: 1, rcode: 0, tcp: false, source: .authoritative, latencyUs: 40)
        b.record(qtype: 1, rcode: 0, tcp: false, source: .authoritative, latencyUs: 700)
        b.record(qtype: 99, rcode: 9, tcp: true, source: .refused, latencyUs: 10_000_000)
        a.count(.rrlDropped)
        var p = PrometheusText()
        m.write(into: &p)
        let t = p.text
        #expect(t.contains("jamdns_queries_total{type=\"A\",rcode=\"NOERROR\",transport=\"udp\",source=\"authoritative\"} 2\n"))
        #expect(t.contains("jamdns_queries_total{type=\"other\",rcode=\"other\",transport=\"tcp\",source=\"refused\"} 1\n"))
        #expect(!t.contains("source=\"cache\""))
        #expect(t.contains("jamdns_query_duration_seconds_bucket{source=\"authoritative\",le=\"5e-05\"} 1\n"))
        #expect(t.contains("jamdns_query_duration_seconds_bucket{source=\"authoritative\",le=\"0.001\"} 2\n"))
        #expect(t.contains("jamdns_query_duration_seconds_bucket{source=\"refused\",le=\"5\"} 0\n"))
        #expect(t.contains("jamdns_query_duration_seconds_bucket{source=\"refused\",le=\"+Inf\"} 1\n"))
        #expect(t.contains("jamdns_query_duration_seconds_sum{source=\"authoritative\"} 0.00074\n"))
        #expect(t.contains("jamdns_rrl_dropped_total 1\n"))
        #expect(t.contains("process_resident_memory_bytes "))
    }

    @Test("engine answers are attributed by RCODE")
    func sources() {
        #expect(AnswerSource.ofEngineAnswer(rcode: 0) == .authoritative && AnswerSource.ofEngineAnswer(rcode: 3) == .authoritative)
        #expect(AnswerSource.ofEngineAnswer(rcode: 5) == .refused && AnswerSource.ofEngineAnswer(rcode: 1) == .local && AnswerSource.ofEngineAnswer(rcode: 4) == .local)
    }

    @Test("IPv4 clients are matched as mapped addresses; prefixes of both families")
    func prefixMatcher() {
        let m = PrefixMatcher([IPPrefix("192.168.0.0/16")!, IPPrefix("fd00::/8")!, IPPrefix("10.1.2.3")!])
        #expect(m.contains(IPBits(hi: 0, lo: 0xFFFF_C0A8_0A05)))  // 192.168.10.5
        #expect(!m.contains(IPBits(hi: 0, lo: 0xFFFF_C0A9_0A05)))
        #expect(m.contains(IPBits(hi: 0, lo: 0xFFFF_0A01_0203)) && !m.contains(IPBits(hi: 0, lo: 0xFFFF_0A01_0204)))
        #expect(m.contains(IPBits(hi: 0xFD12_0000_0000_0000, lo: 5)) && !m.contains(IPBits(hi: 0xFE80_0000_0000_0000, lo: 5)))
        #expect(PrefixMatcher([IPPrefix("0.0.0.0/0")!]).contains(IPBits(hi: 0, lo: 0xFFFF_0808_0808)))
        #expect(IPBits(hi: 0, lo: 0xFFFF_C0A8_0A05).bytes == [192, 168, 10, 5])
    }
}

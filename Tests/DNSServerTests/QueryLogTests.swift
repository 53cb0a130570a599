import Testing
@testable import DNSServer

@Suite struct QueryLogTests {
    @Test("a line has every field; hostile names cannot forge fields or lines")
    func line() {
        let e = QueryLog.Entry(timeMs: 1_795_000_000_123, client: [192, 168, 10, 5], name: [3, 0x77, 0x77, 0x77, 3, 0x61, 0x20, 0x0A, 0], qtype: 28,
                               rcode: 3, source: .forward, tcp: true, latencyUs: 1234)
        let l = QueryLog.line(e)
        #expect(l == "2026-11-18T11:06:40.123Z client=192.168.10.5 name=www.a\\032\\010. type=AAAA rcode=NXDOMAIN source=forward transport=tcp latency_us=1234\n")
        #expect(QueryLog.nameText([1, UInt8(ascii: "="), 1, UInt8(ascii: "."), 0]) == "\\=.\\..")
        #expect(QueryLog.nameText([0]) == "." && QueryLog.nameText([]) == "?" && QueryLog.nameText([1, 0x61, 5, 1]) == "a.?")
        #expect(QueryLog.clientText([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]) == "::1")
    }

    @Test("the question name is cut out of a raw query; compressed or runaway names give nothing")
    func questionName() {
        let q: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0, 1, 0, 1]
        func scan(_ b: [UInt8]) -> (name: [UInt8], type: UInt16) {
            b.withUnsafeBytes { raw in let q = RawQuestion(raw); return (q.name(in: raw), q.type) }
        }
        #expect(scan(q) == ([1, 0x61, 0], 1))
        #expect(scan([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12]) == ([], 0), "compressed")
        #expect(scan([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 60, 1, 2]) == ([], 0), "runs past the end")
        #expect(scan([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0, 0]) == ([1, 0x61, 0], 0), "type cut short")
    }

    @Test("the queue is bounded: past the limit appends fail (and are counted as drops by the caller)")
    func bounded() {
        let log = QueryLog(path: "/nonexistent/dir/q.log", maxBytes: 4096)  // never started: nothing drains
        let e = QueryLog.Entry(timeMs: 0, client: [127, 0, 0, 1], name: [0], qtype: 1, rcode: 0, source: .authoritative, tcp: false, latencyUs: 1)
        var accepted = 0
        for _ in 0..<(QueryLog.queueLimit + 100) where log.append(e) { accepted += 1 }
        #expect(accepted == QueryLog.queueLimit)
    }
}

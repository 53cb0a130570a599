import DNSWire
import Testing
import TestSupport
@testable import DNSCache

@Suite struct DNSCacheTests {
    static let soa = ResourceRecord(name: try! DNSName("example.com."), type: .soa, ttl: 900,
                                    rdata: .soa(SOA(mname: try! DNSName("ns.example.com."), rname: try! DNSName("h.example.com."),
                                                    serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 300)))

    static func answer(_ name: String, _ type: RRType = .a, ttls: [UInt32] = [300], rcode: RCode = .noError,
                       authority: [ResourceRecord] = [], edns: Bool = true, tc: Bool = false) -> [UInt8] {
        let n = try! DNSName(name)
        var m = Message(header: Header(id: 77))
        m.header.qr = true
        m.header.ra = true
        m.header.tc = tc
        m.questions = [Question(name: n, type: type)]
        m.answers = ttls.enumerated().map { ResourceRecord(name: n, type: .a, ttl: $0.element, rdata: .a(IPv4Address(UInt32($0.offset + 1)))) }
        m.authority = authority
        if edns { m.edns = EDNS(udpPayloadSize: 1232, options: [EDNSOption(code: 10, data: [1, 2, 3, 4, 5, 6, 7, 8])]) }
        m.rcode = rcode
        return m.wireBytes()
    }

    static func key(_ name: String, _ type: RRType = .a, dnssecOK: Bool = false) -> CacheKey {
        CacheKey(name: try! DNSName(name), type: type, dnssecOK: dnssecOK)
    }

    @Test("a positive answer is served with TTLs counting down and without the upstream's OPT")
    func ttlCountdown() throws {
        var c = DNSCache()
        #expect(c.insert(Self.answer("www.example.com.", ttls: [300, 120]), for: Self.key("www.example.com."), policy: CachePolicy(), now: 0) == nil)
        let found = c.lookup(Self.key("www.example.com."), now: 100_000)
        let hit = try #require(found)
        #expect(hit.remainingTTL == 20 && !hit.stale && hit.kind == .positive)
        let m = try Message.parse(hit.wire)
        #expect(m.answers.map(\.ttl) == [200, 20])
        #expect(m.edns == nil)
        #expect(c.lookup(Self.key("www.example.com."), now: 120_000) == nil)  // expired: the entry's life is the lowest TTL
    }

    @Test("keys ignore case and separate type, class and DO")
    func keys() {
        var c = DNSCache()
        c.insert(Self.answer("Www.Example.COM."), for: Self.key("Www.Example.COM."), policy: CachePolicy(), now: 0)
        #expect(c.lookup(Self.key("www.example.com."), now: 1000) != nil)
        #expect(c.lookup(Self.key("www.example.com.", .aaaa), now: 1000) == nil)
        #expect(c.lookup(Self.key("www.example.com.", dnssecOK: true), now: 1000) == nil)
    }

    @Test("NXDOMAIN and NODATA are cached for min(SOA TTL, SOA MINIMUM) (RFC 2308 §5)")
    func negative() throws {
        var c = DNSCache()
        #expect(c.insert(Self.answer("nx.example.com.", ttls: [], rcode: .nxDomain, authority: [Self.soa]), for: Self.key("nx.example.com."), policy: CachePolicy(), now: 0) == nil)
        let found = c.lookup(Self.key("nx.example.com."), now: 0)
        let hit = try #require(found)
        #expect(hit.kind == .nxDomain && hit.remainingTTL == 300)
        #expect(try Message.parse(hit.wire).rcode == .nxDomain)
        c.insert(Self.answer("nodata.example.com.", .aaaa, ttls: [], authority: [Self.soa]), for: Self.key("nodata.example.com.", .aaaa), policy: CachePolicy(), now: 0)
        #expect(c.lookup(Self.key("nodata.example.com.", .aaaa), now: 0)?.kind == .noData)
        // Without an SOA a negative answer is not cached.
        #expect(c.insert(Self.answer("nosoa.example.com.", ttls: [], rcode: .nxDomain), for: Self.key("nosoa.example.com."), policy: CachePolicy(), now: 0) == .noSOAInNegative)
        // negativeMaxTTL caps it.
        c.insert(Self.answer("cap.example.com.", ttls: [], rcode: .nxDomain, authority: [Self.soa]), for: Self.key("cap.example.com."), policy: CachePolicy(negativeMaxTTL: 60), now: 0)
        #expect(c.lookup(Self.key("cap.example.com."), now: 0)?.remainingTTL == 60)
    }

    @Test("SERVFAIL, REFUSED, FORMERR and TC answers are not cached, and never evict a good entry")
    func uncachable() {
        var c = DNSCache()
        let k = Self.key("good.example.com.")
        c.insert(Self.answer("good.example.com."), for: k, policy: CachePolicy(), now: 0)
        #expect(c.insert(Self.answer("good.example.com.", ttls: [], rcode: .servFail), for: k, policy: CachePolicy(), now: 1000) == .rcode(.servFail))
        #expect(c.insert(Self.answer("good.example.com.", ttls: [], rcode: .refused), for: k, policy: CachePolicy(), now: 1000) == .rcode(.refused))
        #expect(c.insert(Self.answer("good.example.com.", tc: true), for: k, policy: CachePolicy(), now: 1000) == .truncated)
        #expect(c.insert([1, 2, 3], for: k, policy: CachePolicy(), now: 1000) == .malformed)
        #expect(c.lookup(k, now: 2000)?.kind == .positive)
    }

    @Test("min and max TTL clamps")
    func clamps() {
        var c = DNSCache()
        let p = CachePolicy(minTTL: 60, maxTTL: 600)
        c.insert(Self.answer("low.example.com.", ttls: [0]), for: Self.key("low.example.com."), policy: p, now: 0)
        #expect(c.lookup(Self.key("low.example.com."), now: 0)?.remainingTTL == 60)
        c.insert(Self.answer("high.example.com.", ttls: [86_400]), for: Self.key("high.example.com."), policy: p, now: 0)
        let hit = c.lookup(Self.key("high.example.com."), now: 0)
        #expect(hit?.remainingTTL == 600)
        #expect(hit.flatMap { try? Message.parse($0.wire) }?.answers.first?.ttl == 600)
    }

    @Test("a zone policy can turn caching off (Consul's TTL-0 answers)")
    func disabledPolicy() {
        var c = DNSCache()
        #expect(c.insert(Self.answer("web.service.consul.", ttls: [0]), for: Self.key("web.service.consul."), policy: CachePolicy(enabled: false), now: 0) != nil)
        #expect(c.count == 0)
    }

    @Test("serve-stale: inside the window with TTL 30 when asked for, gone after it (RFC 8767)")
    func stale() throws {
        var c = DNSCache()
        let k = Self.key("s.example.com.")
        c.insert(Self.answer("s.example.com.", ttls: [10]), for: k, policy: CachePolicy(staleWindow: 100), now: 0)
        #expect(c.lookup(k, now: 20_000) == nil)
        let found = c.lookup(k, now: 20_000, allowStale: true)
        let hit = try #require(found)
        #expect(hit.stale && hit.remainingTTL == 30)
        #expect(try Message.parse(hit.wire).answers.first?.ttl == 30)
        #expect(c.lookup(k, now: 200_000, allowStale: true) == nil)
        #expect(c.count == 0)
    }

    @Test("LRU eviction keeps the entry count bounded under a flood of random names")
    func floodBounded() {
        var c = DNSCache(maxEntries: 1000, maxBytes: 64 << 20)
        c.insert(Self.answer("hot.example.com."), for: Self.key("hot.example.com."), policy: CachePolicy(), now: 0)
        for i in 0..<20_000 {
            let name = "r\(i)-\(UInt32.random(in: 0...UInt32.max)).example.com."
            c.insert(Self.answer(name), for: Self.key(name), policy: CachePolicy(), now: Int64(i))
            if i % 100 == 0 { _ = c.lookup(Self.key("hot.example.com."), now: Int64(i)) }  // keep it recently used
        }
        #expect(c.count == 1000)
        #expect(c.stats.evictions == 19_001)
        #expect(c.lookup(Self.key("hot.example.com."), now: 30_000) != nil)
    }

    @Test("the byte bound holds too")
    func byteBound() {
        var c = DNSCache(maxEntries: 1_000_000, maxBytes: 100_000)
        for i in 0..<5000 {
            let name = "b\(i).example.com."
            c.insert(Self.answer(name, ttls: Array(repeating: 300, count: 8)), for: Self.key(name), policy: CachePolicy(), now: 0)
        }
        #expect(c.stats.bytes <= 100_000)
        #expect(c.count > 100 && c.count < 5000)
    }

    @Test func flushByNameAndAll() {
        var c = DNSCache()
        c.insert(Self.answer("a.example.com."), for: Self.key("a.example.com."), policy: CachePolicy(), now: 0)
        c.insert(Self.answer("a.example.com.", .aaaa, ttls: [], authority: [Self.soa]), for: Self.key("a.example.com.", .aaaa), policy: CachePolicy(), now: 0)
        c.insert(Self.answer("b.example.com."), for: Self.key("b.example.com."), policy: CachePolicy(), now: 0)
        #expect(c.entries(for: try! DNSName("A.example.com."), now: 0).count == 2)
        #expect(c.flush(try! DNSName("A.EXAMPLE.com.")) == 2)
        #expect(c.count == 1)
        #expect(c.flush() == 1)
        #expect(c.count == 0 && c.stats.bytes == 0)
        c.insert(Self.answer("c.example.com."), for: Self.key("c.example.com."), policy: CachePolicy(), now: 0)
        #expect(c.lookup(Self.key("c.example.com."), now: 0) != nil)
    }

    @Test("popular entries near expiry ask for a prefetch")
    func prefetch() {
        var c = DNSCache()
        let k = Self.key("p.example.com.")
        c.insert(Self.answer("p.example.com.", ttls: [100]), for: k, policy: CachePolicy(), now: 0)
        _ = c.lookup(k, now: 1000)
        _ = c.lookup(k, now: 2000)
        #expect(c.lookup(k, now: 50_000)?.wantsPrefetch == false)
        #expect(c.lookup(k, now: 95_000)?.wantsPrefetch == true)
    }

    @Test("malformed upstream bytes are rejected, never trap", arguments: 0..<200)
    func garbage(seed: Int) {
        var c = DNSCache()
        var b = Self.answer("g.example.com.", ttls: [1, 2, 3], authority: [Self.soa])
        var rng = SeededRandom(default: 0xCAC4E + UInt64(seed))  // the case's argument picks its mutations
        for _ in 0..<(1 + seed % 5) { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
        if seed % 3 == 0 { b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng))) }
        _ = c.insert(b, for: Self.key("g.example.com."), policy: CachePolicy(), now: 0)
        _ = c.lookup(Self.key("g.example.com."), now: 1000)
    }
}

import Testing
@testable import DNSServer

@Suite struct RateLimiterTests {
    static func ip(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> IPBits {
        IPBits(hi: 0, lo: 0xFFFF_0000_0000 | UInt64(a) << 24 | UInt64(b) << 16 | UInt64(c) << 8 | UInt64(d))
    }

    @Test("a prefix gets its rate with a one-second burst, then drops and slips (every 2nd), and refills with time")
    func bucket() {
        var c = RateLimitConfig()
        c.responsesPerSecond = 10
        c.slip = 2
        let rl = RateLimiter(config: c, lanRanges: [])
        let client = Self.ip(203, 0, 113, 7)
        var verdicts: [RateLimiter.Verdict] = []
        for _ in 0..<14 { verdicts.append(rl.check(client, nowMs: 1000)) }
        #expect(verdicts.prefix(10).allSatisfy { $0 == .pass })
        #expect(Array(verdicts.suffix(4)) == [.drop, .slip, .drop, .slip])
        // Another address in the same /24 shares the budget; another /24 does not.
        #expect(rl.check(Self.ip(203, 0, 113, 200), nowMs: 1000) != .pass)
        #expect(rl.check(Self.ip(203, 0, 114, 7), nowMs: 1000) == .pass)
        // 300 ms later, 3 answers' worth has come back.
        let later = (0..<4).map { _ in rl.check(client, nowMs: 1300) }
        #expect(later.filter { $0 == .pass }.count == 3)
    }

    @Test("slip 0 never answers a limited client, slip 1 always sends TC")
    func slipSettings() {
        for (slip, expected) in [(0, RateLimiter.Verdict.drop), (1, .slip)] {
            var c = RateLimitConfig()
            c.responsesPerSecond = 1
            c.slip = slip
            let rl = RateLimiter(config: c, lanRanges: [])
            _ = rl.check(Self.ip(198, 51, 100, 1), nowMs: 0)
            #expect((0..<5).allSatisfy { _ in rl.check(Self.ip(198, 51, 100, 1), nowMs: 0) == expected })
        }
    }

    @Test("loopback and the LAN ranges are exempt by default; an explicit list replaces them")
    func exemptions() {
        let rl = RateLimiter(config: RateLimitConfig(), lanRanges: [IPPrefix("192.168.0.0/16")!])
        #expect(!rl.applies(to: Self.ip(127, 0, 0, 1)) && !rl.applies(to: Self.ip(192, 168, 10, 5)))
        #expect(rl.applies(to: Self.ip(8, 8, 8, 8)))
        #expect(!rl.applies(to: IPBits(hi: 0, lo: 1)))  // ::1
        #expect(rl.applies(to: IPBits(hi: 0x2001_0db8_0000_0000, lo: 1)))
        var c = RateLimitConfig()
        c.exempt = [IPPrefix("10.0.0.0/8")!]
        let strict = RateLimiter(config: c, lanRanges: [IPPrefix("192.168.0.0/16")!])
        #expect(strict.applies(to: Self.ip(127, 0, 0, 1)) && strict.applies(to: Self.ip(192, 168, 1, 1)) && !strict.applies(to: Self.ip(10, 1, 1, 1)))
    }

    @Test("IPv6 clients are counted per /56")
    func ipv6Prefix() {
        var c = RateLimitConfig()
        c.responsesPerSecond = 1
        let rl = RateLimiter(config: c, lanRanges: [])
        let a = IPBits(hi: 0x2001_0db8_0000_0100, lo: 1), sameNet = IPBits(hi: 0x2001_0db8_0000_01FF, lo: 99)
        let other = IPBits(hi: 0x2001_0db8_0000_0200, lo: 1)
        #expect(rl.key(a) == rl.key(sameNet) && rl.key(a) != rl.key(other))
        #expect(rl.check(a, nowMs: 0) == .pass && rl.check(sameNet, nowMs: 0) != .pass && rl.check(other, nowMs: 0) == .pass)
    }

    @Test("the slip reply keeps header and question, sets TC and drops every record")
    func truncate() {
        var answer: [UInt8] = [0x12, 0x34, 0x84, 0x00, 0, 1, 0, 1, 0, 0, 0, 1,
                               3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1,
                               0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4,
                               0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0]
        let n = answer.withUnsafeMutableBytes { RateLimiter.truncate($0.baseAddress!, size: $0.count) }
        #expect(n == 21)
        #expect(Array(answer[0..<12]) == [0x12, 0x34, 0x86, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])
        // A header-only or broken answer is never read past its end.
        var broken: [UInt8] = [0, 0, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63, 1, 2]
        #expect(broken.withUnsafeMutableBytes { RateLimiter.truncate($0.baseAddress!, size: $0.count) } == 15)
    }
}

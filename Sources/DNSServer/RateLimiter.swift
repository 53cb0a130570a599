#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// [rate_limit]: response-rate limiting for UDP answers to clients outside the exempt ranges, so the server
/// cannot be used as an amplifier when it is reachable from outside the lab.
public struct RateLimitConfig: Sendable, Equatable {
    /// rate_limit.enabled: off means every client is answered at any rate. On by default: the LAN and loopback
    /// are exempt, so only clients from elsewhere are ever limited.
    public var enabled = true
    /// rate_limit.responses_per_second: per client prefix, with a one-second burst.
    public var responsesPerSecond = 20
    /// rate_limit.slip: every Nth withheld answer goes out as an empty truncated reply (TC), so a real client
    /// behind a spoofed flood retries over TCP; 0 = never, 1 = always.
    public var slip = 2
    /// rate_limit.ipv4_prefix / ipv6_prefix: clients are counted per network of this size.
    public var ipv4Prefix = 24
    public var ipv6Prefix = 56
    /// rate_limit.exempt: never limited. Unset: loopback plus `resolver.allow_recursion` (the LAN).
    public var exempt: [IPPrefix]? = nil

    public init() {}
}

/// A token bucket per client prefix in a fixed table (64 Ki slots, 2 MB, reserved on the first non-exempt
/// client): memory stays bounded whatever the number of spoofed sources. Two prefixes that hash to the same slot
/// while both are active share its budget, which only ever limits more, never less.
final class RateLimiter: Sendable {
    enum Verdict { case pass, drop, slip }

    struct Slot {
        var key: UInt64 = 0
        var tokensMilli: Int64 = 0
        var lastMs: Int64 = 0
        var limited: UInt32 = 0
    }

    /// The slots in zeroed memory: an all-zero Slot is an empty one, and a page of the table takes RAM only
    /// once a client prefix hashing into it is seen. (Filled in Swift, all 2 MB were resident from the first
    /// client from outside the LAN on.)
    final class Table {
        let memory = ZeroedMemory(count: RateLimiter.slots * MemoryLayout<Slot>.stride)
        var slots: UnsafeMutablePointer<Slot> { memory.base.bindMemory(to: Slot.self, capacity: RateLimiter.slots) }
    }

    let config: RateLimitConfig
    let exempt: PrefixMatcher
    static let slots = 1 << 16
    private let table = Mutex<Table?>(nil)

    init(config: RateLimitConfig, lanRanges: [IPPrefix]) {
        self.config = config
        exempt = PrefixMatcher(config.exempt ?? ([IPPrefix("127.0.0.0/8")!, IPPrefix("::1/128")!] + lanRanges))
    }

    /// Whether a client is outside the exempt ranges, i.e. subject to limiting.
    @inline(__always) func applies(to ip: IPBits) -> Bool { !exempt.contains(ip) }

    /// The key of a client's prefix (the first ipv4_prefix or ipv6_prefix bits).
    func key(_ ip: IPBits) -> UInt64 {
        let bits = ip.isV4 ? 96 + config.ipv4Prefix : config.ipv6Prefix
        let mh: UInt64 = bits >= 64 ? ~0 : bits == 0 ? 0 : ~0 << (64 - bits)
        let ml: UInt64 = bits >= 128 ? ~0 : bits <= 64 ? 0 : ~0 << (128 - bits)
        var k = (ip.hi & mh) &* 0x9E37_79B9_7F4A_7C15
        k ^= (ip.lo & ml) &+ 0x632B_E59B_D9B4_E019 &+ (k << 6) &+ (k >> 2)
        k = (k ^ (k >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return k | 1  // never 0: 0 marks an empty slot
    }

    /// Charges one answer to the client's prefix and says whether it may go out.
    func check(_ ip: IPBits, nowMs: Int64) -> Verdict {
        let k = key(ip)
        let rate = Int64(config.responsesPerSecond)
        let slip = UInt32(config.slip)
        return table.withLock { table in
            if table == nil { table = Table() }
            let t = table!.slots
            let i = Int(truncatingIfNeeded: (k >> 16) ^ k) & (Self.slots - 1)
            if t[i].key != k && (t[i].key == 0 || nowMs - t[i].lastMs > 1000) {
                t[i] = Slot(key: k, tokensMilli: rate * 1000, lastMs: nowMs, limited: 0)
            }
            let elapsed = max(0, nowMs - t[i].lastMs)
            t[i].tokensMilli = min(rate * 1000, t[i].tokensMilli + elapsed * rate)
            t[i].lastMs = nowMs
            if t[i].tokensMilli >= 1000 {
                t[i].tokensMilli -= 1000
                return .pass
            }
            t[i].limited &+= 1
            if slip > 0 && t[i].limited % slip == 0 { return .slip }
            return .drop
        }
    }

    /// Rewrites an answer in place into the slip reply: header and question only, TC set, no records.
    static func truncate(_ answer: UnsafeMutableRawPointer, size: Int) -> Int {
        let b = answer.assumingMemoryBound(to: UInt8.self)
        guard size >= 12 else { return size }
        var i = 12
        if b[4] != 0 || b[5] != 0 {
            while i < size && b[i] != 0 && b[i] < 0xC0 { i += Int(b[i]) + 1 }
            guard i < size else { return size }
            i += (b[i] >= 0xC0 ? 2 : 1) + 4
            guard i <= size else { return size }
        }
        b[2] |= 0x02  // TC
        for k in 6..<12 { b[k] = 0 }
        return i
    }
}

import DNSWire

/// The resolver's answer cache: positive and negative (RFC 2308) answers, TTLs counting down, min/max clamps,
/// a bound in entries and in bytes with LRU eviction, and serve-stale (RFC 8767) inside a bounded window.
/// Pure: time comes in as a parameter (ms on a monotonic clock). Not Sendable: the server guards it.
public struct CachePolicy: Sendable, Equatable {
    /// Answers with a lower TTL are held this long anyway (0: as received).
    public var minTTL: UInt32 = 0
    public var maxTTL: UInt32 = 86_400
    /// RFC 2308 §5 suggests 1-3 hours at most for negative answers.
    public var negativeMaxTTL: UInt32 = 3_600
    /// Seconds an expired entry may still be served when every upstream fails (RFC 8767 §5: 1-3 days); 0: never.
    public var staleWindow: UInt32 = 86_400
    /// Cache nothing at all (for zones whose TTL-0 answers must not be held).
    public var enabled = true

    public init(minTTL: UInt32 = 0, maxTTL: UInt32 = 86_400, negativeMaxTTL: UInt32 = 3_600, staleWindow: UInt32 = 86_400, enabled: Bool = true) {
        self.minTTL = minTTL
        self.maxTTL = maxTTL
        self.negativeMaxTTL = negativeMaxTTL
        self.staleWindow = staleWindow
        self.enabled = enabled
    }
}

public struct CacheStats: Sendable, Equatable {
    public var entries = 0, bytes = 0, hits = 0, misses = 0, evictions = 0, staleServed = 0, inserts = 0
}

/// A cache hit: the answer bytes ready to send (ID and question case still to patch by the caller, via
/// `CachedAnswer` helpers), its remaining TTL and whether it is stale.
public struct CacheHit: Sendable {
    public var wire: [UInt8]
    public var kind: AnswerKind
    public var remainingTTL: UInt32
    public var stale: Bool
    /// Whether the entry is close to expiry and popular enough to refresh ahead of time (prefetch).
    public var wantsPrefetch: Bool
}

public struct DNSCache {
    public static let staleTTL: UInt32 = 30  // RFC 8767 §4

    struct Slot {
        var key: CacheKey
        var answer: CachedAnswer
        var policy: CachePolicy
        var prev = -1, next = -1
    }

    public let maxEntries: Int
    public let maxBytes: Int
    var index: [CacheKey: Int] = [:]
    var slots: [Slot] = []
    var free: [Int] = []
    var head = -1, tail = -1  // head = most recently used
    public private(set) var stats = CacheStats()

    public init(maxEntries: Int = 65_536, maxBytes: Int = 64 << 20) {
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = max(4096, maxBytes)
    }

    public var count: Int { index.count }

    // MARK: LRU list

    mutating func unlink(_ i: Int) {
        let p = slots[i].prev, n = slots[i].next
        if p >= 0 { slots[p].next = n } else { head = n }
        if n >= 0 { slots[n].prev = p } else { tail = p }
        slots[i].prev = -1
        slots[i].next = -1
    }

    mutating func pushFront(_ i: Int) {
        slots[i].prev = -1
        slots[i].next = head
        if head >= 0 { slots[head].prev = i }
        head = i
        if tail < 0 { tail = i }
    }

    mutating func remove(_ i: Int) {
        unlink(i)
        index[slots[i].key] = nil
        stats.bytes -= slots[i].answer.bytes
        slots[i].answer.wire = []
        free.append(i)
        stats.entries = index.count
    }

    // MARK: API

    /// Stores an upstream answer for `key`. Returns why it was not stored, if it was not. A SERVFAIL or any
    /// other uncachable answer never replaces what is there (a good entry survives an upstream failure).
    @discardableResult
    public mutating func insert(_ response: [UInt8], for key: CacheKey, policy: CachePolicy, now: Int64) -> CacheRejection? {
        guard policy.enabled else { return .zeroTTL }
        let scanned: (wire: [UInt8], offsets: [Int], ttls: [UInt32], kind: AnswerKind, lifetime: UInt32)
        do {
            scanned = try AnswerScanner.scan(response, minTTL: policy.minTTL, maxTTL: policy.maxTTL, negativeMaxTTL: policy.negativeMaxTTL)
        } catch {
            return error
        }
        guard scanned.lifetime > 0 || policy.staleWindow > 0 else { return .zeroTTL }
        let answer = CachedAnswer(wire: scanned.wire, ttlOffsets: scanned.offsets, ttls: scanned.ttls, kind: scanned.kind,
                                  lifetime: scanned.lifetime, storedAt: now)
        guard answer.bytes <= maxBytes / 4 else { return .malformed }
        if let i = index[key] {
            stats.bytes -= slots[i].answer.bytes
            slots[i].answer = answer
            slots[i].policy = policy
            stats.bytes += answer.bytes
            unlink(i)
            pushFront(i)
        } else {
            let slot = Slot(key: key, answer: answer, policy: policy)
            let i: Int
            if let f = free.popLast() {
                slots[f] = slot
                i = f
            } else {
                slots.append(slot)
                i = slots.count - 1
            }
            index[key] = i
            pushFront(i)
            stats.bytes += answer.bytes
        }
        stats.inserts += 1
        // Evict least recently used entries until both bounds hold.
        while index.count > maxEntries || stats.bytes > maxBytes, tail >= 0 {
            remove(tail)
            stats.evictions += 1
        }
        stats.entries = index.count
        return nil
    }

    /// Looks `key` up at `now`. Fresh entries come back with TTLs counted down; an expired entry comes back
    /// (stale, TTL 30, RFC 8767) only when `allowStale` and inside its policy's window; otherwise nil.
    public mutating func lookup(_ key: CacheKey, now: Int64, allowStale: Bool = false) -> CacheHit? {
        guard let i = index[key] else {
            stats.misses += 1
            return nil
        }
        let a = slots[i].answer
        let elapsed = UInt32(clamping: max(0, now - a.storedAt) / 1000)
        if elapsed >= a.lifetime {
            let window = slots[i].policy.staleWindow
            if allowStale && elapsed < a.lifetime &+ window {
                stats.staleServed += 1
                return CacheHit(wire: patched(a, elapsed: nil), kind: a.kind, remainingTTL: Self.staleTTL, stale: true, wantsPrefetch: false)
            }
            if elapsed >= a.lifetime &+ window { remove(i) }
            stats.misses += 1
            return nil
        }
        slots[i].answer.hits &+= 1
        unlink(i)
        pushFront(i)
        stats.hits += 1
        let remaining = a.lifetime - elapsed
        // Prefetch when a popular entry is in the last 10 % of its life (Unbound's prefetch rule).
        let wants = a.kind == .positive && a.hits >= 2 && remaining * 10 <= a.lifetime && a.lifetime >= 10
        return CacheHit(wire: patched(a, elapsed: elapsed), kind: a.kind, remainingTTL: remaining, stale: false, wantsPrefetch: wants)
    }

    /// The stored bytes with each TTL counted down by `elapsed` (never below 0), or set to 30 for stale use.
    func patched(_ a: CachedAnswer, elapsed: UInt32?) -> [UInt8] {
        var w = a.wire
        for (k, off) in a.ttlOffsets.enumerated() {
            let ttl: UInt32
            if let e = elapsed { ttl = a.ttls[k] > e ? a.ttls[k] - e : 0 } else { ttl = Self.staleTTL }
            w[off] = UInt8(ttl >> 24)
            w[off + 1] = UInt8(ttl >> 16 & 0xFF)
            w[off + 2] = UInt8(ttl >> 8 & 0xFF)
            w[off + 3] = UInt8(ttl & 0xFF)
        }
        return w
    }

    /// Drops every entry for `name` (all types), or everything when nil. Returns how many went.
    @discardableResult
    public mutating func flush(_ name: DNSName? = nil) -> Int {
        guard let name else {
            let n = index.count
            index = [:]
            slots = []
            free = []
            head = -1
            tail = -1
            stats.entries = 0
            stats.bytes = 0
            return n
        }
        let key = name.lowercased.wire
        let victims = index.filter { $0.key.name == key }.map(\.value)
        for i in victims { remove(i) }
        return victims.count
    }

    /// What the cache holds for `name`: type, kind and remaining (or stale) seconds, for `dnsctl cache show`.
    public func entries(for name: DNSName, now: Int64) -> [(type: RRType, kind: AnswerKind, remaining: Int, dnssecOK: Bool)] {
        let key = name.lowercased.wire
        return index.filter { $0.key.name == key }.map { k, i in
            let a = slots[i].answer
            let elapsed = Int(max(0, now - a.storedAt) / 1000)
            return (RRType(k.type), a.kind, Int(a.lifetime) - elapsed, k.dnssecOK)
        }.sorted { $0.type < $1.type }
    }
}

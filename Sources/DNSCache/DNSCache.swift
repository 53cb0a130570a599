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

    /// One entry, kept small: the answer's bytes and its TTL metadata share one buffer
    /// (`wire ‖ offsets as UInt16 ‖ TTLs as UInt32`), and the index maps a 64-bit hash of the key to the
    /// slot. The key itself is not stored: the question inside `data` is compared on every hit, so a hash
    /// collision can never serve a wrong answer (it just evicts).
    struct Slot {
        var hash: UInt64 = 0
        var data: [UInt8] = []
        var wireLength: UInt16 = 0
        var ttlCount: UInt16 = 0
        var lifetime: UInt32 = 0
        var staleWindow: UInt32 = 0
        var storedAt: Int64 = 0
        var hits: UInt16 = 0
        var kind: AnswerKind = .positive
        var dnssecOK = false
        var prev: Int32 = -1, next: Int32 = -1

        var bytes: Int { data.count + 96 }
    }

    public private(set) var maxEntries: Int
    public private(set) var maxBytes: Int
    var index: [UInt64: Int32] = [:]
    var slots: [Slot] = []
    var free: [Int32] = []
    var head: Int32 = -1, tail: Int32 = -1  // head = most recently used
    public private(set) var stats = CacheStats()

    public init(maxEntries: Int = 65_536, maxBytes: Int = 64 << 20) {
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = max(4096, maxBytes)
    }

    public var count: Int { index.count }

    /// New bounds (a config reload): entries are kept, the least recently used evicted until they fit.
    public mutating func resize(maxEntries: Int, maxBytes: Int) {
        self.maxEntries = max(1, maxEntries)
        self.maxBytes = max(4096, maxBytes)
        while index.count > self.maxEntries || stats.bytes > self.maxBytes, tail >= 0 {
            remove(tail)
            stats.evictions += 1
        }
        stats.entries = index.count
    }

    /// FNV-1a over the lowercased name, type, class and DO.
    static func hash(_ key: CacheKey) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ b: UInt8) { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        for b in key.name { mix(b) }
        mix(UInt8(key.type >> 8)); mix(UInt8(key.type & 0xFF))
        mix(UInt8(key.qclass >> 8)); mix(UInt8(key.qclass & 0xFF))
        mix(key.dnssecOK ? 1 : 0)
        return h
    }

    /// Whether the slot's stored question is `key` (names compared case-insensitively).
    func matches(_ s: Slot, _ key: CacheKey) -> Bool {
        guard s.dnssecOK == key.dnssecOK, s.data.count >= 12 + key.name.count + 4 else { return false }
        var i = 0
        while i < key.name.count {
            let b = s.data[12 + i]
            if DNSName.lower(b) != key.name[i] { return false }
            i += 1
        }
        let t = 12 + key.name.count
        return UInt16(s.data[t]) << 8 | UInt16(s.data[t + 1]) == key.type && UInt16(s.data[t + 2]) << 8 | UInt16(s.data[t + 3]) == key.qclass
    }

    // MARK: LRU list

    mutating func unlink(_ i: Int32) {
        let p = slots[Int(i)].prev, n = slots[Int(i)].next
        if p >= 0 { slots[Int(p)].next = n } else { head = n }
        if n >= 0 { slots[Int(n)].prev = p } else { tail = p }
        slots[Int(i)].prev = -1
        slots[Int(i)].next = -1
    }

    mutating func pushFront(_ i: Int32) {
        slots[Int(i)].prev = -1
        slots[Int(i)].next = head
        if head >= 0 { slots[Int(head)].prev = i }
        head = i
        if tail < 0 { tail = i }
    }

    mutating func remove(_ i: Int32) {
        unlink(i)
        index[slots[Int(i)].hash] = nil
        stats.bytes -= slots[Int(i)].bytes
        slots[Int(i)].data = []
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
        guard scanned.wire.count <= 0xFFFF, scanned.offsets.count <= 0xFFFF, scanned.wire.count + 96 <= maxBytes / 4 else { return .malformed }
        var slot = Slot()
        slot.hash = Self.hash(key)
        var data = scanned.wire
        data.reserveCapacity(scanned.wire.count + scanned.offsets.count * 6)
        for o in scanned.offsets { data += [UInt8(o >> 8), UInt8(o & 0xFF)] }
        for t in scanned.ttls { data += [UInt8(t >> 24), UInt8(t >> 16 & 0xFF), UInt8(t >> 8 & 0xFF), UInt8(t & 0xFF)] }
        slot.data = data
        slot.wireLength = UInt16(scanned.wire.count)
        slot.ttlCount = UInt16(scanned.offsets.count)
        slot.lifetime = scanned.lifetime
        slot.staleWindow = policy.staleWindow
        slot.storedAt = now
        slot.kind = scanned.kind
        slot.dnssecOK = key.dnssecOK
        guard matches(slot, key) else { return .wrongQuestion }  // the answer is for another question
        if let i = index[slot.hash] {
            stats.bytes -= slots[Int(i)].bytes
            slot.prev = slots[Int(i)].prev
            slot.next = slots[Int(i)].next
            slots[Int(i)] = slot
            stats.bytes += slot.bytes
            unlink(i)
            pushFront(i)
        } else {
            let i: Int32
            if let f = free.popLast() {
                slots[Int(f)] = slot
                i = f
            } else {
                slots.append(slot)
                i = Int32(slots.count - 1)
            }
            index[slot.hash] = i
            pushFront(i)
            stats.bytes += slot.bytes
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
        guard let i = index[Self.hash(key)], matches(slots[Int(i)], key) else {
            stats.misses += 1
            return nil
        }
        let s = slots[Int(i)]
        let elapsed = UInt32(clamping: max(0, now - s.storedAt) / 1000)
        if elapsed >= s.lifetime {
            if allowStale && elapsed < s.lifetime &+ s.staleWindow {
                stats.staleServed += 1
                return CacheHit(wire: patched(s, elapsed: nil), kind: s.kind, remainingTTL: Self.staleTTL, stale: true, wantsPrefetch: false)
            }
            if elapsed >= s.lifetime &+ s.staleWindow { remove(i) }
            stats.misses += 1
            return nil
        }
        slots[Int(i)].hits &+= 1
        unlink(i)
        pushFront(i)
        stats.hits += 1
        let remaining = s.lifetime - elapsed
        // Prefetch when a popular entry is in the last 10 % of its life (Unbound's prefetch rule).
        let wants = s.kind == .positive && s.hits >= 2 && remaining * 10 <= s.lifetime && s.lifetime >= 10
        return CacheHit(wire: patched(s, elapsed: elapsed), kind: s.kind, remainingTTL: remaining, stale: false, wantsPrefetch: wants)
    }

    /// The stored bytes with each TTL counted down by `elapsed` (never below 0), or set to 30 for stale use.
    func patched(_ s: Slot, elapsed: UInt32?) -> [UInt8] {
        let wl = Int(s.wireLength), n = Int(s.ttlCount)
        var w = Array(s.data[0..<wl])
        for k in 0..<n {
            let off = Int(s.data[wl + 2 * k]) << 8 | Int(s.data[wl + 2 * k + 1])
            let t0 = wl + 2 * n + 4 * k
            let orig = UInt32(s.data[t0]) << 24 | UInt32(s.data[t0 + 1]) << 16 | UInt32(s.data[t0 + 2]) << 8 | UInt32(s.data[t0 + 3])
            let ttl: UInt32
            if let e = elapsed { ttl = orig > e ? orig - e : 0 } else { ttl = Self.staleTTL }
            w[off] = UInt8(ttl >> 24)
            w[off + 1] = UInt8(ttl >> 16 & 0xFF)
            w[off + 2] = UInt8(ttl >> 8 & 0xFF)
            w[off + 3] = UInt8(ttl & 0xFF)
        }
        return w
    }

    /// Slots holding answers for `name` (any type), by a scan: for the operator's commands, not the hot path.
    func slotsFor(_ name: DNSName) -> [Int32] {
        let key = name.lowercased.wire
        return index.values.filter { i in
            let s = slots[Int(i)]
            guard s.data.count >= 12 + key.count else { return false }
            for (k, b) in key.enumerated() where DNSName.lower(s.data[12 + k]) != b { return false }
            return true
        }
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
        let victims = slotsFor(name)
        for i in victims { remove(i) }
        return victims.count
    }

    /// What the cache holds for `name`: type, kind and remaining (or stale) seconds, for `dnsctl cache show`.
    public func entries(for name: DNSName, now: Int64) -> [(type: RRType, kind: AnswerKind, remaining: Int, dnssecOK: Bool)] {
        let qlen = name.wire.count
        return slotsFor(name).map { i in
            let s = slots[Int(i)]
            let t = 12 + qlen
            let type = RRType(UInt16(s.data[t]) << 8 | UInt16(s.data[t + 1]))
            let elapsed = Int(max(0, now - s.storedAt) / 1000)
            return (type, s.kind, Int(s.lifetime) - elapsed, s.dnssecOK)
        }.sorted { $0.type < $1.type }
    }
}

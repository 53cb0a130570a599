#if canImport(Glibc)
import Glibc
#endif

/// A per-worker memo of finished UDP answers, keyed by the query's bytes after the ID (flags, counts,
/// question with its exact case, OPT). An authoritative answer depends on nothing else, so a hit just copies
/// the stored answer and patches the ID: no parsing and no allocation. Direct-mapped with a fixed number of
/// slots (bounded memory); emptied when the catalog generation changes.
struct AnswerCache {
    static let maxQuery = 512

    struct Entry {
        var key: [UInt8]
        var response: [UInt8]
    }

    var slots: [Entry?]
    let mask: Int
    var generation: UInt64 = .max

    /// capacity 0: disabled (every lookup misses, nothing is stored).
    init(capacity: Int) {
        var n = 1
        while n < capacity { n <<= 1 }
        slots = capacity == 0 ? [] : Array(repeating: nil, count: n)
        mask = n - 1
    }

    @inline(__always) static func hash(_ q: UnsafeRawBufferPointer) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var i = 2
        while i < q.count {
            h = (h ^ UInt64(q[i])) &* 0x100_0000_01b3
            i &+= 1
        }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }

    mutating func lookup(_ q: UnsafeRawBufferPointer, generation g: UInt64, into dst: UnsafeMutableRawPointer) -> Int? {
        guard q.count >= 12, q.count <= Self.maxQuery, !slots.isEmpty else { return nil }
        if g != generation {
            for i in slots.indices { slots[i] = nil }
            generation = g
            return nil
        }
        let slot = Self.hash(q) & mask
        guard let e = slots[slot], e.key.count == q.count - 2 else { return nil }
        let same = e.key.withUnsafeBytes { k in memcmp(k.baseAddress!, q.baseAddress! + 2, q.count - 2) == 0 }
        guard same else { return nil }
        let n = e.response.count
        e.response.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress!, byteCount: n) }
        dst.storeBytes(of: q[0], toByteOffset: 0, as: UInt8.self)
        dst.storeBytes(of: q[1], toByteOffset: 1, as: UInt8.self)
        return n
    }

    mutating func insert(query q: UnsafeRawBufferPointer, response: [UInt8], generation g: UInt64) {
        guard q.count >= 12, q.count <= Self.maxQuery, g == generation, response.count >= 12, !slots.isEmpty else { return }
        slots[Self.hash(q) & mask] = Entry(key: Array(q[2...]), response: response)
    }
}

/// A bounds-checked cursor over a received message. `read*` advances; nothing traps on short input.
public struct WireReader {
    public let bytes: [UInt8]
    public var position: Int
    /// Where the current record's RDATA ends: reads inside RDATA may not cross it.
    var limit: Int

    public init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
        self.limit = bytes.count
    }

    public var remaining: Int { limit - position }

    @inline(__always) public mutating func readU8() throws(WireError) -> UInt8 {
        guard position < limit else { throw WireError(.truncated, at: position, "u8") }
        defer { position &+= 1 }  // position < limit <= count, so no overflow
        return bytes[position]
    }

    @inline(__always) public mutating func readU16() throws(WireError) -> UInt16 {
        guard position &+ 2 <= limit else { throw WireError(.truncated, at: position, "u16") }
        defer { position &+= 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position &+ 1])
    }

    @inline(__always) public mutating func readU32() throws(WireError) -> UInt32 {
        guard position &+ 4 <= limit else { throw WireError(.truncated, at: position, "u32") }
        defer { position &+= 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position &+ 1]) << 16 | UInt32(bytes[position &+ 2]) << 8
            | UInt32(bytes[position &+ 3])
    }

    public mutating func readBytes(_ n: Int) throws(WireError) -> [UInt8] {
        guard n >= 0, position &+ n <= limit else { throw WireError(.truncated, at: position, "\(n) bytes") }
        defer { position &+= n }
        return Array(bytes[position..<(position &+ n)])
    }

    /// A <character-string> (RFC 1035 §3.3): a length octet and that many bytes.
    public mutating func readCharacterString() throws(WireError) -> [UInt8] {
        let n = Int(try readU8())
        return try readBytes(n)
    }

    /// Reads a possibly compressed name. Pointers must point strictly backwards, which bounds the walk
    /// without a separate jump counter; the result is still capped at 255 octets.
    public mutating func readName() throws(WireError) -> DNSName {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        var pos = position
        var resume: Int? = nil
        var lowestPointer = pos
        while true {
            // A name may extend past an RDATA limit only through a pointer; read its own bytes within `limit`.
            let end = resume == nil ? limit : bytes.count
            guard pos < end else { throw WireError(.truncated, at: pos, "name") }
            let len = Int(bytes[pos])
            switch len & 0xC0 {
            case 0x00 where len == 0:
                out.append(0)
                guard out.count <= DNSName.maxWireLength else { throw WireError(.nameTooLong, at: pos, "name") }
                position = resume ?? (pos &+ 1)
                return DNSName(uncheckedWire: out)
            case 0x00:
                guard pos &+ 1 &+ len <= end else { throw WireError(.truncated, at: pos, "label") }
                guard out.count &+ len &+ 2 <= DNSName.maxWireLength else { throw WireError(.nameTooLong, at: pos, "name") }
                out.append(contentsOf: bytes[pos..<(pos &+ 1 &+ len)])
                pos &+= 1 &+ len
            case 0xC0:
                guard pos &+ 1 < end else { throw WireError(.truncated, at: pos, "pointer") }
                let target = (len & 0x3F) << 8 | Int(bytes[pos &+ 1])
                guard target < lowestPointer else { throw WireError(.pointerLoop, at: pos, "pointer must point backwards") }
                if resume == nil { resume = pos &+ 2 }
                lowestPointer = target
                pos = target
            default:
                throw WireError(.badLabelType, at: pos, "label type \(len >> 6)")
            }
        }
    }
}

/// Builds a message into a growable buffer, compressing names against those already written.
public struct WireWriter {
    public var bytes: [UInt8]
    /// Offsets (below 0x4000) where a name or name suffix was written uncompressed-or-compressed.
    var nameOffsets: [UInt16] = []
    public var compressionEnabled = true
    /// A zone transfer's compression: a name at or below `wire` becomes its own labels and a pointer to the
    /// copy at `offset` (the question). Costs O(labels) a name where the general search costs O(names written),
    /// which over a transfer's thousands of records a message is the difference that matters.
    public var fixedSuffix: (wire: [UInt8], offset: UInt16)?

    public init(capacity: Int = 512) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        nameOffsets.removeAll(keepingCapacity: true)
    }

    /// Drops everything written after `count`, including compression targets pointing there.
    public mutating func truncate(to count: Int) {
        bytes.removeSubrange(count...)
        nameOffsets.removeAll { Int($0) >= count }
    }

    @inline(__always) public mutating func u8(_ v: UInt8) { bytes.append(v) }
    @inline(__always) public mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }
    @inline(__always) public mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(v >> 24))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }
    public mutating func append<C: Collection>(_ c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }

    public mutating func characterString(_ s: [UInt8]) {
        bytes.append(UInt8(min(s.count, 255)))
        bytes.append(contentsOf: s.prefix(255))
    }

    public mutating func patchU16(at offset: Int, _ v: UInt16) {
        bytes[offset] = UInt8(v >> 8)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: v)
    }

    /// Writes `name`, replacing its longest already-written suffix by a pointer when `compress` is set.
    public mutating func name(_ name: DNSName, compress: Bool = true) {
        let w = name.wire
        if let fixed = fixedSuffix {
            nameWithFixedSuffix(w, fixed.wire, at: fixed.offset, compress: compress && compressionEnabled)
            return
        }
        var pos = 0
        while w[pos] != 0 {
            if compress && compressionEnabled, let target = findSuffix(w, from: pos) {
                u16(0xC000 | target)
                return
            }
            if bytes.count < 0x4000 { nameOffsets.append(UInt16(bytes.count)) }
            let len = Int(w[pos])
            bytes.append(contentsOf: w[pos...(pos + len)])
            pos += 1 + len
        }
        bytes.append(0)
    }

    private mutating func nameWithFixedSuffix(_ w: [UInt8], _ suffix: [UInt8], at offset: UInt16, compress: Bool) {
        var pos = 0
        while compress && w.count - pos > suffix.count && w[pos] != 0 { pos += 1 + Int(w[pos]) }
        var same = compress && w.count - pos == suffix.count && suffix.count > 1
        var i = 0
        while same && i < suffix.count {
            same = DNSName.lower(w[pos + i]) == DNSName.lower(suffix[i])
            i += 1
        }
        if same {
            bytes.append(contentsOf: w[..<pos])
            u16(0xC000 | offset)
        } else {
            bytes.append(contentsOf: w)
        }
    }

    /// Finds an earlier occurrence of `w[from...]` (case-insensitively) among the recorded name offsets.
    private func findSuffix(_ w: [UInt8], from: Int) -> UInt16? {
        for off in nameOffsets where matches(w, from: from, at: Int(off)) { return off }
        return nil
    }

    private func matches(_ w: [UInt8], from: Int, at start: Int) -> Bool {
        var i = from
        var p = start
        var hops = 0
        while true {
            guard p < bytes.count else { return false }
            var len = Int(bytes[p])
            if len & 0xC0 == 0xC0 {
                hops += 1
                guard hops < 64, p + 1 < bytes.count else { return false }
                p = (len & 0x3F) << 8 | Int(bytes[p + 1])
                continue
            }
            guard len == Int(w[i]) else { return false }
            if len == 0 { return true }
            guard p + 1 + len <= bytes.count else { return false }
            while len > 0 {
                p += 1
                i += 1
                if DNSName.lower(bytes[p]) != DNSName.lower(w[i]) { return false }
                len -= 1
            }
            p += 1
            i += 1
        }
    }
}

/// A domain name in uncompressed wire form (RFC 1035 §3.1), with its original case kept for output.
/// Comparison and hashing ignore ASCII case (RFC 4343). Always ≤255 octets, labels ≤63: checked on construction.
public struct DNSName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let maxWireLength = 255
    public static let maxLabelLength = 63

    /// Uncompressed wire bytes including the terminal zero label.
    public let wire: [UInt8]

    public static let root = DNSName(uncheckedWire: [0])

    @inline(__always) init(uncheckedWire: [UInt8]) { self.wire = uncheckedWire }

    /// Validates an uncompressed wire name.
    public init(wire: [UInt8]) throws(WireError) {
        var pos = 0
        while true {
            guard pos < wire.count else { throw WireError(.truncated, at: pos, "name") }
            let len = Int(wire[pos])
            if len == 0 {
                guard pos + 1 == wire.count else { throw WireError(.trailingBytes, at: pos, "name") }
                break
            }
            guard len <= Self.maxLabelLength else { throw WireError(.labelTooLong, at: pos, "label") }
            pos += 1 + len
        }
        guard wire.count <= Self.maxWireLength else { throw WireError(.nameTooLong, at: 0, "name") }
        self.wire = wire
    }

    /// ASCII lower-casing of one name byte (DNS compares names case-insensitively in ASCII only, RFC 4343):
    /// the one definition every byte-level name comparison uses.
    @inline(__always) public static func lower(_ b: UInt8) -> UInt8 { b &- 0x41 < 26 ? b | 0x20 : b }

    public var isRoot: Bool { wire.count == 1 }

    public var labelCount: Int {
        var n = 0, pos = 0
        while wire[pos] != 0 { n += 1; pos += 1 + Int(wire[pos]) }
        return n
    }

    /// Offsets of each label's length byte, first label first (the root is not included).
    public var labelOffsets: [Int] {
        var out: [Int] = []
        var pos = 0
        while wire[pos] != 0 { out.append(pos); pos += 1 + Int(wire[pos]) }
        return out
    }

    public var labels: [ArraySlice<UInt8>] {
        labelOffsets.map { wire[($0 + 1)..<($0 + 1 + Int(wire[$0]))] }
    }

    /// The name with its first label removed; nil for the root.
    public var parent: DNSName? {
        guard !isRoot else { return nil }
        return DNSName(uncheckedWire: Array(wire[(1 + Int(wire[0]))...]))
    }

    /// The ancestor keeping only the last `count` labels.
    public func suffix(labels count: Int) -> DNSName {
        let total = labelCount
        guard count < total else { return self }
        if count <= 0 { return .root }
        var pos = 0
        for _ in 0..<(total - count) { pos += 1 + Int(wire[pos]) }
        return DNSName(uncheckedWire: Array(wire[pos...]))
    }

    public var isWildcard: Bool { wire.count >= 2 && wire[0] == 1 && wire[1] == UInt8(ascii: "*") }

    /// Prepends one label; throws if the result would be too long.
    public func prepending(label: [UInt8]) throws(WireError) -> DNSName {
        guard !label.isEmpty, label.count <= Self.maxLabelLength else { throw WireError(.labelTooLong, at: 0, "label") }
        guard wire.count + label.count + 1 <= Self.maxWireLength else { throw WireError(.nameTooLong, at: 0, "name") }
        return DNSName(uncheckedWire: [UInt8(label.count)] + label + wire)
    }

    public func wildcardChild() -> DNSName? { try? prepending(label: [UInt8(ascii: "*")]) }

    /// True when `self` equals `other` or lies below it.
    public func isSubdomain(of other: DNSName) -> Bool {
        let diff = wire.count - other.wire.count
        guard diff >= 0 else { return false }
        var pos = 0
        while pos < diff { pos += 1 + Int(wire[pos]) }
        guard pos == diff else { return false }
        var i = 0
        while i < other.wire.count {
            if Self.lower(wire[diff + i]) != Self.lower(other.wire[i]) { return false }
            i += 1
        }
        return true
    }

    /// The name with ASCII letters lowered; the name itself (no copy) when it has none upper-case, the usual case.
    public var lowercased: DNSName {
        guard wire.contains(where: { $0 &- 0x41 < 26 }) else { return self }
        return DNSName(uncheckedWire: wire.map(Self.lower))
    }

    public static func == (a: DNSName, b: DNSName) -> Bool {
        guard a.wire.count == b.wire.count else { return false }
        var i = 0
        while i < a.wire.count {
            if lower(a.wire[i]) != lower(b.wire[i]) { return false }
            i += 1
        }
        return true
    }

    /// FNV-1a over the lowercased bytes: what `hash(into:)` feeds the Hasher (per-byte `combine` costs ~4x more on
    /// the query path), and a stable spread for splitting names into shards.
    public var foldedHash: UInt64 {
        var x: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in wire { x = (x ^ UInt64(Self.lower(b))) &* 0x100_0000_01b3 }
        return x
    }

    public func hash(into h: inout Hasher) { h.combine(foldedHash) }

    /// Canonical DNS order (RFC 4034 §6.1): compare label by label from the root, case-insensitively.
    public static func < (a: DNSName, b: DNSName) -> Bool {
        let la = a.labels, lb = b.labels
        var i = la.count - 1, j = lb.count - 1
        while i >= 0 && j >= 0 {
            let x = la[i], y = lb[j]
            var xi = x.startIndex, yi = y.startIndex
            while xi < x.endIndex && yi < y.endIndex {
                let cx = lower(x[xi]), cy = lower(y[yi])
                if cx != cy { return cx < cy }
                xi += 1
                yi += 1
            }
            if x.count != y.count { return x.count < y.count }
            i -= 1
            j -= 1
        }
        return la.count < lb.count
    }

    // MARK: presentation format (RFC 1035 §5.1)

    /// Parses a name in presentation format. A name not ending in "." is relative to `origin`; "@" is the origin.
    public init(_ text: String, origin: DNSName? = nil) throws(WireError) {
        try self.init(presentation: Array(text.utf8), origin: origin)
    }

    public init(presentation t: [UInt8], origin: DNSName?) throws(WireError) {
        if t == [UInt8(ascii: "@")] {
            guard let origin else { throw WireError(.badText, at: 0, "'@' used with no origin") }
            self = origin
            return
        }
        if t == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        guard !t.isEmpty else { throw WireError(.badText, at: 0, "empty name") }
        var out: [UInt8] = []
        out.reserveCapacity(t.count + 2)
        var label: [UInt8] = []
        var i = 0
        var absolute = false
        func flush(_ at: Int) throws(WireError) {
            guard !label.isEmpty else { throw WireError(.badText, at: at, "empty label") }
            guard label.count <= DNSName.maxLabelLength else { throw WireError(.labelTooLong, at: at, "label longer than 63 octets") }
            out.append(UInt8(label.count))
            out.append(contentsOf: label)
            label.removeAll(keepingCapacity: true)
        }
        while i < t.count {
            let c = t[i]
            if c == UInt8(ascii: ".") {
                try flush(i)
                if i == t.count - 1 { absolute = true }
                i += 1
            } else if c == UInt8(ascii: "\\") {
                guard i + 1 < t.count else { throw WireError(.badText, at: i, "dangling backslash") }
                let d = t[i + 1]
                if d >= 0x30 && d <= 0x39 {
                    var v = 0
                    for k in 1...3 {
                        guard i + k < t.count else { throw WireError(.badText, at: i, "\\DDD escape needs three digits") }
                        let dk = t[i + k]
                        guard dk >= 0x30 && dk <= 0x39 else { throw WireError(.badText, at: i, "\\DDD escape needs three digits") }
                        v = v * 10 + Int(dk - 0x30)
                    }
                    guard v <= 255 else { throw WireError(.badText, at: i, "\\DDD escape above 255") }
                    label.append(UInt8(v))
                    i += 4
                } else {
                    label.append(d)
                    i += 2
                }
            } else {
                label.append(c)
                i += 1
            }
        }
        if !absolute {
            try flush(t.count)
            guard let origin else { throw WireError(.badText, at: 0, "relative name with no origin") }
            out.append(contentsOf: origin.wire)
        } else {
            out.append(0)
        }
        guard out.count <= Self.maxWireLength else { throw WireError(.nameTooLong, at: 0, "name longer than 255 octets") }
        self.wire = out
    }

    /// Presentation form, absolute, with a trailing dot; special characters escaped.
    public var description: String {
        if isRoot { return "." }
        var s: [UInt8] = []
        s.reserveCapacity(wire.count + 4)
        var pos = 0
        while wire[pos] != 0 {
            let len = Int(wire[pos])
            for b in wire[(pos + 1)...(pos + len)] { Self.appendEscaped(b, to: &s) }
            s.append(UInt8(ascii: "."))
            pos += 1 + len
        }
        return String(decoding: s, as: UTF8.self)
    }

    static func appendEscaped(_ b: UInt8, to s: inout [UInt8]) {
        switch b {
        case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "("), UInt8(ascii: ")"),
            UInt8(ascii: ";"), UInt8(ascii: "@"), UInt8(ascii: "$"):
            s.append(UInt8(ascii: "\\"))
            s.append(b)
        case 0x21...0x7E:
            s.append(b)
        default:
            s.append(UInt8(ascii: "\\"))
            s.append(0x30 + b / 100)
            s.append(0x30 + (b / 10) % 10)
            s.append(0x30 + b % 10)
        }
    }

    /// The name relative to `origin` ("@" for the origin itself), or absolute if it is not below it.
    public func relativeDescription(to origin: DNSName) -> String {
        if self == origin { return "@" }
        guard isSubdomain(of: origin), !origin.isRoot else { return description }
        let keep = labelCount - origin.labelCount
        let offs = labelOffsets
        let end = offs[keep]
        var s: [UInt8] = []
        var pos = 0
        while pos < end {
            let len = Int(wire[pos])
            if pos > 0 { s.append(UInt8(ascii: ".")) }
            for b in wire[(pos + 1)...(pos + len)] { Self.appendEscaped(b, to: &s) }
            pos += 1 + len
        }
        return String(decoding: s, as: UTF8.self)
    }
}

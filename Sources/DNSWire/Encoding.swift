/// Text encodings used by presentation formats: hex, base64, IP addresses, RRSIG times. Stdlib only.

enum Hex {
    static let digits = Array("0123456789abcdef".utf8)

    static func encode<C: Collection>(_ b: C, uppercase: Bool = false) -> String where C.Element == UInt8 {
        var s: [UInt8] = []
        s.reserveCapacity(b.count * 2)
        for x in b {
            let hi = digits[Int(x >> 4)], lo = digits[Int(x & 15)]
            s.append(uppercase && hi >= 0x61 ? hi - 32 : hi)
            s.append(uppercase && lo >= 0x61 ? lo - 32 : lo)
        }
        return String(decoding: s, as: UTF8.self)
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x41 + 10
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    static func decode(_ t: [UInt8]) -> [UInt8]? {
        guard t.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(t.count / 2)
        var i = 0
        while i < t.count {
            guard let h = nibble(t[i]), let l = nibble(t[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

/// Base64 (RFC 4648 §4): DNSKEY/RRSIG presentation, and TSIG key secrets.
public enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let reverse: [UInt8] = {
        var r = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { r[Int(c)] = UInt8(i) }
        return r
    }()

    public static func encode(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((b.count + 2) / 3 * 4)
        var i = 0
        while i + 3 <= b.count {
            let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2])
            for s in [18, 12, 6, 0] { out.append(alphabet[Int((v >> UInt32(s)) & 63)]) }
            i += 3
        }
        let rest = b.count - i
        if rest == 1 {
            let v = UInt32(b[i]) << 16
            out += [alphabet[Int(v >> 18 & 63)], alphabet[Int(v >> 12 & 63)], 0x3D, 0x3D]
        } else if rest == 2 {
            let v = UInt32(b[i]) << 16 | UInt32(b[i + 1]) << 8
            out += [alphabet[Int(v >> 18 & 63)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], 0x3D]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base64, ignoring nothing: whitespace must already be gone (tokens are joined by the caller).
    public static func decode(_ t: [UInt8]) -> [UInt8]? {
        guard t.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(t.count / 4 * 3)
        var i = 0
        while i < t.count {
            var v: UInt32 = 0
            var pad = 0
            for k in 0..<4 {
                let c = t[i + k]
                if c == 0x3D {
                    guard i + 4 == t.count, k >= 2 else { return nil }
                    pad += 1
                    v <<= 6
                } else {
                    guard pad == 0 else { return nil }
                    let d = reverse[Int(c)]
                    guard d != 0xFF else { return nil }
                    v = v << 6 | UInt32(d)
                }
            }
            out.append(UInt8(v >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(v & 0xFF)) }
            i += 4
        }
        return out
    }
}

public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    public var value: UInt32
    public init(_ value: UInt32) { self.value = value }
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Strict dotted quad: four decimal parts 0-255, no leading zeros, nothing else.
    public init?(_ text: String) { self.init(utf8: Array(text.utf8)) }

    public init?(utf8 t: [UInt8]) {
        var v: UInt32 = 0, cur: UInt32 = 0
        var digits = 0, dots = 0
        for c in t {
            if c == UInt8(ascii: ".") {
                guard digits > 0, dots < 3 else { return nil }
                v = v << 8 | cur
                cur = 0
                digits = 0
                dots += 1
            } else if c >= 0x30 && c <= 0x39 {
                if digits == 1 && cur == 0 { return nil }
                cur = cur * 10 + UInt32(c - 0x30)
                digits += 1
                guard cur <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, dots == 3 else { return nil }
        value = v << 8 | cur
    }

    public var bytes: [UInt8] { [UInt8(value >> 24), UInt8(value >> 16 & 255), UInt8(value >> 8 & 255), UInt8(value & 255)] }
    public var description: String { bytes.map { String($0) }.joined(separator: ".") }
}

public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    /// The address as two big-endian halves: held inline, so an AAAA record costs no allocation of its own.
    public var high: UInt64, low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 16)
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<8 {
            h = h << 8 | UInt64(bytes[i])
            l = l << 8 | UInt64(bytes[8 + i])
        }
        high = h
        low = l
    }

    /// The 16 address bytes in network order.
    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? high : low) >> (56 - 8 * UInt64(i % 8))) }
    }

    public init?(_ text: String) { self.init(utf8: Array(text.utf8)) }

    /// RFC 4291 §2.2 text forms, including "::" and a trailing dotted quad.
    public init?(utf8 t: [UInt8]) {
        guard !t.isEmpty, t.count <= 45 else { return nil }
        // A single leading or trailing colon is not "::".
        if t[0] == 0x3A && (t.count < 2 || t[1] != 0x3A) { return nil }
        if t[t.count - 1] == 0x3A && (t.count < 2 || t[t.count - 2] != 0x3A) { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        var seenGap = false
        var groups = t.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { Array($0) }
        // "::" yields empty groups; normalise leading/trailing ones.
        if t.starts(with: [0x3A, 0x3A]) { groups.removeFirst() }
        if t.count >= 2 && t[t.count - 1] == 0x3A && t[t.count - 2] == 0x3A { groups.removeLast() }
        var v4: [UInt16] = []
        for (i, g) in groups.enumerated() {
            if g.isEmpty {
                guard !seenGap else { return nil }
                seenGap = true
                continue
            }
            if i == groups.count - 1, g.contains(UInt8(ascii: ".")) {
                guard let a = IPv4Address(utf8: g) else { return nil }
                v4 = [UInt16(a.value >> 16), UInt16(a.value & 0xFFFF)]
                continue
            }
            guard g.count <= 4 else { return nil }
            var v: UInt16 = 0
            for c in g {
                guard let n = Hex.nibble(c) else { return nil }
                v = v << 4 | UInt16(n)
            }
            if seenGap { tail.append(v) } else { head.append(v) }
        }
        if seenGap { tail += v4 } else { head += v4 }
        let total = head.count + tail.count
        if seenGap {
            guard total <= 7 else { return nil }
        } else {
            guard total == 8 else { return nil }
        }
        let all = head + [UInt16](repeating: 0, count: 8 - total) + tail
        high = all[0..<4].reduce(0) { $0 << 16 | UInt64($1) }
        low = all[4..<8].reduce(0) { $0 << 16 | UInt64($1) }
    }

    /// RFC 5952 canonical text: lowercase, longest run of two or more zero groups as "::".
    public var description: String {
        var g = [UInt16](repeating: 0, count: 8)
        for i in 0..<8 { g[i] = UInt16(truncatingIfNeeded: (i < 4 ? high : low) >> (48 - 16 * UInt64(i % 4))) }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen && j - i >= 2 { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        func hex(_ v: UInt16) -> String { String(v, radix: 16) }
        if bestStart < 0 { return g.map(hex).joined(separator: ":") }
        let left = g[0..<bestStart].map(hex).joined(separator: ":")
        let right = g[(bestStart + bestLen)...].map(hex).joined(separator: ":")
        return left + "::" + right
    }
}

/// RRSIG timestamps (RFC 4034 §3.2): YYYYMMDDHHmmSS in UTC, or a plain integer of seconds.
enum SigTime {
    static func format(_ t: UInt32) -> String {
        let secs = Int64(t)
        let days = secs / 86400, rem = secs % 86400
        let (y, m, d) = civil(fromDays: days)
        func p(_ v: Int64, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return p(y, 4) + p(m, 2) + p(d, 2) + p(rem / 3600, 2) + p(rem % 3600 / 60, 2) + p(rem % 60, 2)
    }

    static func parse(_ t: [UInt8]) -> UInt32? {
        guard t.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), !t.isEmpty else { return nil }
        let s = String(decoding: t, as: UTF8.self)
        if t.count == 14 {
            func n(_ a: Int, _ b: Int) -> Int64 { t[a..<b].reduce(0) { $0 * 10 + Int64($1 - 0x30) } }
            let y = n(0, 4), mo = n(4, 6), d = n(6, 8), h = n(8, 10), mi = n(10, 12), se = n(12, 14)
            guard (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
            let total = days(fromCivil: y, mo, d) * 86400 + h * 3600 + mi * 60 + se
            // Serial arithmetic on 32 bits (RFC 4034 §3.1.5): times wrap.
            return UInt32(truncatingIfNeeded: total)
        }
        return UInt32(s)
    }

    // Howard Hinnant's days-from-civil algorithms.
    static func days(fromCivil y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
        let y = m <= 2 ? y0 - 1 : y0
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

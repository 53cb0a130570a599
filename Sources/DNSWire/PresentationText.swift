// Presentation-format text (RFC 1035 §5.1) shared by every RDATA kind: tokens, the cursor that reads them, escapes.

/// A token of presentation-format text: raw bytes with escapes left in place, and where it came from.
public struct TextToken: Sendable, Equatable {
    public var bytes: [UInt8]
    public var quoted: Bool
    public var line: Int
    public var column: Int
    public init(_ bytes: [UInt8], quoted: Bool = false, line: Int = 0, column: Int = 0) {
        self.bytes = bytes
        self.quoted = quoted
        self.line = line
        self.column = column
    }
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// A presentation-format error: what was wrong and which token (index into the RDATA tokens; nil: past the end).
public struct PresentationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var tokenIndex: Int?
    public init(_ message: String, token: Int?) {
        self.message = message
        self.tokenIndex = token
    }
    public var description: String { message }
}

/// Parses TTL-style durations: "3600", "1h30m", "2w" (BIND units s, m, h, d, w), into seconds.
public func parseDuration(_ t: [UInt8]) -> UInt32? {
    guard !t.isEmpty else { return nil }
    if t.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
        return t.count <= 10 ? UInt32(String(decoding: t, as: UTF8.self)) : nil
    }
    var total: UInt64 = 0, cur: UInt64 = 0, digits = 0
    for c in t {
        if c >= 0x30 && c <= 0x39 {
            cur = cur * 10 + UInt64(c - 0x30)
            digits += 1
            guard digits <= 10 else { return nil }
        } else {
            let mult: UInt64
            switch c | 0x20 {
            case UInt8(ascii: "s"): mult = 1
            case UInt8(ascii: "m"): mult = 60
            case UInt8(ascii: "h"): mult = 3600
            case UInt8(ascii: "d"): mult = 86400
            case UInt8(ascii: "w"): mult = 604800
            default: return nil
            }
            guard digits > 0 else { return nil }
            total += cur * mult
            cur = 0
            digits = 0
        }
    }
    guard digits == 0, total <= UInt64(UInt32.max) else { return nil }
    return UInt32(total)
}

/// Walks the RDATA tokens, producing errors that name the token.
struct TokenCursor {
    let tokens: [TextToken]
    var index = 0
    let origin: DNSName?

    var atEnd: Bool { index >= tokens.count }

    mutating func next(_ what: String) throws(PresentationError) -> TextToken {
        guard index < tokens.count else { throw PresentationError("missing \(what)", token: nil) }
        defer { index += 1 }
        return tokens[index]
    }

    func fail(_ message: String) -> PresentationError { PresentationError(message, token: max(0, index - 1)) }

    mutating func int<T: FixedWidthInteger & UnsignedInteger>(_ what: String, _: T.Type) throws(PresentationError) -> T {
        let t = try next(what)
        guard !t.quoted, let v = T(t.text) else { throw fail("expected \(what) (0-\(T.max)), found '\(t.text)'") }
        return v
    }

    mutating func duration(_ what: String) throws(PresentationError) -> UInt32 {
        let t = try next(what)
        guard let v = parseDuration(t.bytes) else { throw fail("expected \(what) (seconds or 1h/1d/1w form), found '\(t.text)'") }
        return v
    }

    mutating func name(_ what: String) throws(PresentationError) -> DNSName {
        let t = try next(what)
        do {
            return try DNSName(presentation: t.bytes, origin: origin)
        } catch {
            throw fail("bad \(what) '\(t.text)': \(error.context)")
        }
    }

    mutating func characterString(_ what: String) throws(PresentationError) -> [UInt8] {
        let t = try next(what)
        guard let s = unescape(t.bytes), s.count <= 255 else { throw fail("bad \(what): longer than 255 octets or a bad escape") }
        return s
    }

    /// Joins every remaining token (hex and base64 fields may be split by whitespace).
    mutating func rest(_ what: String, allowEmpty: Bool = false) throws(PresentationError) -> [UInt8] {
        guard allowEmpty || !atEnd else { throw PresentationError("missing \(what)", token: nil) }
        var out: [UInt8] = []
        while !atEnd { out += tokens[index].bytes; index += 1 }
        return out
    }

    /// The remaining tokens as one hex field (a digest, a fingerprint, certificate data).
    mutating func hexRest(_ what: String, allowEmpty: Bool = false) throws(PresentationError) -> [UInt8] {
        guard let b = Hex.decode(try rest(what, allowEmpty: allowEmpty)) else { throw fail("\(what) must be hex") }
        return b
    }

    /// The remaining tokens as one base64 field (a key, a signature).
    mutating func base64Rest(_ what: String) throws(PresentationError) -> [UInt8] {
        guard let b = Base64.decode(try rest(what)) else { throw fail("\(what) must be base64") }
        return b
    }

    mutating func algorithm() throws(PresentationError) -> UInt8 {
        let t = try next("algorithm")
        if let v = UInt8(t.text) { return v }
        let table: [String: UInt8] = [
            "RSAMD5": 1, "DH": 2, "DSA": 3, "RSASHA1": 5, "DSA-NSEC3-SHA1": 6, "RSASHA1-NSEC3-SHA1": 7,
            "RSASHA256": 8, "RSASHA512": 10, "ECC-GOST": 12, "ECDSAP256SHA256": 13, "ECDSAP384SHA384": 14,
            "ED25519": 15, "ED448": 16,
        ]
        guard let v = table[t.text.uppercased()] else { throw fail("unknown algorithm '\(t.text)'") }
        return v
    }
}

/// Resolves `\X` and `\DDD` escapes in a character-string.
func unescape(_ t: [UInt8]) -> [UInt8]? {
    var out: [UInt8] = []
    out.reserveCapacity(t.count)
    var i = 0
    while i < t.count {
        if t[i] == UInt8(ascii: "\\") {
            guard i + 1 < t.count else { return nil }
            if t[i + 1] >= 0x30 && t[i + 1] <= 0x39 {
                var v = 0
                for k in 1...3 {
                    guard i + k < t.count, t[i + k] >= 0x30, t[i + k] <= 0x39 else { return nil }
                    v = v * 10 + Int(t[i + k] - 0x30)
                }
                guard v <= 255 else { return nil }
                out.append(UInt8(v))
                i += 4
            } else {
                out.append(t[i + 1])
                i += 2
            }
        } else {
            out.append(t[i])
            i += 1
        }
    }
    return out
}

/// A character-string in quotes with `"`, `\` and non-printable bytes escaped.
func quoted(_ s: [UInt8]) -> String {
    var out: [UInt8] = [UInt8(ascii: "\"")]
    for b in s {
        switch b {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"):
            out.append(UInt8(ascii: "\\"))
            out.append(b)
        case 0x20...0x7E: out.append(b)
        default:
            out.append(UInt8(ascii: "\\"))
            out.append(0x30 + b / 100)
            out.append(0x30 + (b / 10) % 10)
            out.append(0x30 + b % 10)
        }
    }
    out.append(UInt8(ascii: "\""))
    return String(decoding: out, as: UTF8.self)
}


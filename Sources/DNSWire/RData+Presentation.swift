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

extension RData {
    /// Parses the RDATA part of a record in presentation format. `\#` generic RDATA (RFC 3597 §5) works for every type.
    public static func parse(type: RRType, tokens: [TextToken], origin: DNSName?) throws(PresentationError) -> RData {
        var c = TokenCursor(tokens: tokens, origin: origin)
        if let first = tokens.first, !first.quoted, first.bytes == Array("\\#".utf8) {
            return try parseGeneric(type: type, &c)
        }
        let rd: RData
        switch type {
        case .a:
            let t = try c.next("IPv4 address")
            guard let v = IPv4Address(utf8: t.bytes) else { throw c.fail("expected an IPv4 address, found '\(t.text)'") }
            rd = .a(v)
        case .aaaa:
            let t = try c.next("IPv6 address")
            guard let v = IPv6Address(utf8: t.bytes) else { throw c.fail("expected an IPv6 address, found '\(t.text)'") }
            rd = .aaaa(v)
        case .ns, .cname, .ptr, .dname:
            rd = .name(try c.name("target name"))
        case .soa:
            rd = .soa(
                SOA(
                    mname: try c.name("primary server (MNAME)"), rname: try c.name("mailbox (RNAME)"),
                    serial: try c.int("serial", UInt32.self), refresh: try c.duration("refresh"), retry: try c.duration("retry"),
                    expire: try c.duration("expire"), minimum: try c.duration("minimum")))
        case .mx:
            rd = .mx(preference: try c.int("preference", UInt16.self), exchange: try c.name("exchange"))
        case .txt:
            var strings: [[UInt8]] = []
            repeat { strings.append(try c.characterString("text")) } while !c.atEnd
            rd = .txt(strings)
        case .hinfo:
            rd = .hinfo(cpu: try c.characterString("CPU"), os: try c.characterString("OS"))
        case .srv:
            rd = .srv(
                SRV(
                    priority: try c.int("priority", UInt16.self), weight: try c.int("weight", UInt16.self),
                    port: try c.int("port", UInt16.self), target: try c.name("target")))
        case .naptr:
            rd = .naptr(
                NAPTR(
                    order: try c.int("order", UInt16.self), preference: try c.int("preference", UInt16.self),
                    flags: try c.characterString("flags"), services: try c.characterString("services"),
                    regexp: try c.characterString("regexp"), replacement: try c.name("replacement")))
        case .caa:
            let flags = try c.int("flags", UInt8.self)
            let tagTok = try c.next("tag")
            guard !tagTok.bytes.isEmpty, tagTok.bytes.count <= 255,
                tagTok.bytes.allSatisfy({ ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
            else { throw c.fail("CAA tag must be letters and digits, found '\(tagTok.text)'") }
            let valueTok = try c.next("value")
            guard let value = unescape(valueTok.bytes) else { throw c.fail("bad escape in CAA value") }
            rd = .caa(flags: flags, tag: tagTok.bytes, value: value)
        case .sshfp:
            let a = try c.int("algorithm", UInt8.self), t = try c.int("fingerprint type", UInt8.self)
            guard let fp = Hex.decode(try c.rest("fingerprint")) else { throw c.fail("fingerprint must be hex") }
            rd = .sshfp(algorithm: a, fingerprintType: t, fingerprint: fp)
        case .tlsa:
            let u = try c.int("usage", UInt8.self), s = try c.int("selector", UInt8.self), m = try c.int("matching type", UInt8.self)
            guard let d = Hex.decode(try c.rest("certificate data")) else { throw c.fail("certificate data must be hex") }
            rd = .tlsa(usage: u, selector: s, matchingType: m, data: d)
        case .svcb, .https:
            rd = .svcb(try SVCBText.parse(&c))
        case .ds, .cds:
            let k = try c.int("key tag", UInt16.self), a = try c.algorithm(), d = try c.int("digest type", UInt8.self)
            guard let dig = Hex.decode(try c.rest("digest")) else { throw c.fail("digest must be hex") }
            rd = .ds(keyTag: k, algorithm: a, digestType: d, digest: dig)
        case .dnskey, .cdnskey:
            let f = try c.int("flags", UInt16.self), p = try c.int("protocol", UInt8.self), a = try c.algorithm()
            guard let key = Base64.decode(try c.rest("public key")) else { throw c.fail("public key must be base64") }
            rd = .dnskey(flags: f, protocol: p, algorithm: a, publicKey: key)
        case .rrsig:
            let tt = try c.next("type covered")
            guard let covered = RRType(text: tt.text) else { throw c.fail("unknown type '\(tt.text)'") }
            let alg = try c.algorithm(), labels = try c.int("labels", UInt8.self), ttl = try c.duration("original TTL")
            let exp = try c.next("expiration"), inc = try c.next("inception")
            guard let e = SigTime.parse(exp.bytes), let i = SigTime.parse(inc.bytes) else {
                throw c.fail("times must be YYYYMMDDHHmmSS or seconds")
            }
            let tag = try c.int("key tag", UInt16.self), signer = try c.name("signer")
            guard let sig = Base64.decode(try c.rest("signature")) else { throw c.fail("signature must be base64") }
            rd = .rrsig(
                RRSIG(
                    typeCovered: covered, algorithm: alg, labels: labels, originalTTL: ttl, expiration: e, inception: i,
                    keyTag: tag, signer: signer, signature: sig))
        case .nsec:
            let next = try c.name("next name")
            var types: [RRType] = []
            while !c.atEnd {
                let t = try c.next("type")
                guard let ty = RRType(text: t.text) else { throw c.fail("unknown type '\(t.text)'") }
                types.append(ty)
            }
            rd = .nsec(next: next, types: types)
        default:
            throw PresentationError("type \(type) needs the generic form: \\# LENGTH HEX (RFC 3597)", token: 0)
        }
        guard c.atEnd else { throw PresentationError("unexpected '\(tokens[c.index].text)' after \(type) RDATA", token: c.index) }
        return rd
    }

    static func parseGeneric(type: RRType, _ c: inout TokenCursor) throws(PresentationError) -> RData {
        _ = try c.next("\\#")
        let len = try c.int("RDATA length", UInt16.self)
        let hex = try c.rest("hex RDATA", allowEmpty: len == 0)
        guard let bytes = Hex.decode(hex) else { throw c.fail("generic RDATA must be hex") }
        guard bytes.count == Int(len) else {
            throw PresentationError("generic RDATA length \(len) does not match the \(bytes.count) bytes given", token: 1)
        }
        // A known type in generic form is decoded into its typed form, so both spellings store the same thing.
        var r = WireReader(bytes)
        do {
            let rd = try RData.read(type: type, from: &r, length: bytes.count)
            guard r.position == bytes.count else { throw WireError(.trailingBytes, at: r.position, "RDATA") }
            return rd
        } catch {
            throw PresentationError("generic RDATA is not a valid \(type): \(error)", token: 2)
        }
    }

    /// RFC 3597 §5 generic form: `\# LENGTH HEX`.
    public func genericPresentation(type: RRType) -> String {
        let b = wireBytes(type: type)
        return b.isEmpty ? "\\# 0" : "\\# \(b.count) \(Hex.encode(b))"
    }

    /// Presentation text of the RDATA.
    public func presentation(type: RRType) -> String {
        switch self {
        case .a(let v): return v.description
        case .aaaa(let v): return v.description
        case .name(let n): return n.description
        case .soa(let s):
            return "\(s.mname) \(s.rname) \(s.serial) \(s.refresh) \(s.retry) \(s.expire) \(s.minimum)"
        case .mx(let p, let n): return "\(p) \(n)"
        case .txt(let strings): return strings.map(quoted).joined(separator: " ")
        case .hinfo(let c, let o): return "\(quoted(c)) \(quoted(o))"
        case .srv(let s): return "\(s.priority) \(s.weight) \(s.port) \(s.target)"
        case .naptr(let n):
            return "\(n.order) \(n.preference) \(quoted(n.flags)) \(quoted(n.services)) \(quoted(n.regexp)) \(n.replacement)"
        case .caa(let f, let tag, let value): return "\(f) \(String(decoding: tag, as: UTF8.self)) \(quoted(value))"
        case .sshfp(let a, let t, let fp): return "\(a) \(t) \(Hex.encode(fp, uppercase: true))"
        case .tlsa(let u, let s, let m, let d): return "\(u) \(s) \(m) \(Hex.encode(d, uppercase: true))"
        case .svcb(let s): return SVCBText.format(s)
        case .ds(let k, let a, let d, let dig): return "\(k) \(a) \(d) \(Hex.encode(dig, uppercase: true))"
        case .dnskey(let f, let p, let a, let key): return "\(f) \(p) \(a) \(Base64.encode(key))"
        case .rrsig(let s):
            return "\(s.typeCovered) \(s.algorithm) \(s.labels) \(s.originalTTL) \(SigTime.format(s.expiration)) "
                + "\(SigTime.format(s.inception)) \(s.keyTag) \(s.signer) \(Base64.encode(s.signature))"
        case .nsec(let next, let types): return ([next.description] + types.sorted().map(\.description)).joined(separator: " ")
        case .unknown(let b): return b.isEmpty ? "\\# 0" : "\\# \(b.count) \(Hex.encode(b))"
        }
    }
}

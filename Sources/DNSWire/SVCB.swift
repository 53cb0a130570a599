/// SVCB and HTTPS (RFC 9460): wire form here, presentation helpers in `SVCBText` below.
public struct SVCB: Hashable, Sendable, RDataKind {
    public var priority: UInt16
    public var target: DNSName
    /// SvcParams in wire form, sorted by key, keys unique (RFC 9460 §2.2).
    public var params: [SvcParam]

    init(priority: UInt16, target: DNSName, params: [SvcParam]) {
        self.priority = priority
        self.target = target
        self.params = params
    }
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        priority = try r.readU16()
        target = try r.readName()
        params = []
        var last: Int = -1
        while r.position < end {
            let key = try r.readU16()
            guard Int(key) > last else { throw WireError(.badRData, at: r.position, "SvcParam keys not strictly increasing") }
            last = Int(key)
            let len = Int(try r.readU16())
            params.append(SvcParam(key: key, value: try r.readBytes(len)))
        }
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u16(priority)
        w.name(target, compress: false)
        for p in params {
            w.u16(p.key)
            w.u16(UInt16(p.value.count))
            w.append(p.value)
        }
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) { self = try SVCBText.parse(&c) }
    var presentation: String { SVCBText.format(self) }
    func rdata(_ type: RRType) -> RData { type == .https ? .https(self) : .svcb(self) }
}

public struct SvcParam: Hashable, Sendable {
    public var key: UInt16
    public var value: [UInt8]
}

/// SVCB/HTTPS presentation format (RFC 9460 §2.1 and §7).
enum SVCBText {
    static let keyNames: [(UInt16, String)] = [
        (0, "mandatory"), (1, "alpn"), (2, "no-default-alpn"), (3, "port"), (4, "ipv4hint"), (5, "ech"),
        (6, "ipv6hint"), (7, "dohpath"), (8, "ohttp"),
    ]

    static func keyName(_ k: UInt16) -> String { keyNames.first { $0.0 == k }?.1 ?? "key\(k)" }

    static func key(_ text: String) -> UInt16? {
        if let hit = keyNames.first(where: { $0.1 == text.lowercased() }) { return hit.0 }
        guard text.lowercased().hasPrefix("key"), let v = UInt16(text.dropFirst(3)), !text.dropFirst(3).hasPrefix("+") else { return nil }
        return v
    }

    /// Splits on commas not escaped by a backslash (RFC 9460 Appendix A.1), unescaping each item.
    static func commaList(_ t: [UInt8]) -> [[UInt8]]? {
        var items: [[UInt8]] = []
        var cur: [UInt8] = []
        var i = 0
        while i < t.count {
            if t[i] == UInt8(ascii: "\\"), i + 1 < t.count, t[i + 1] == UInt8(ascii: ",") {
                cur += [UInt8(ascii: "\\"), UInt8(ascii: ",")]
                i += 2
            } else if t[i] == UInt8(ascii: "\\"), i + 2 < t.count, t[i + 1] == UInt8(ascii: "\\"), t[i + 2] == UInt8(ascii: ",") {
                cur += [UInt8(ascii: "\\"), UInt8(ascii: ",")]
                i += 3
            } else if t[i] == UInt8(ascii: ",") {
                guard let u = unescape(cur), !u.isEmpty else { return nil }
                items.append(u)
                cur = []
                i += 1
            } else {
                cur.append(t[i])
                i += 1
            }
        }
        guard let u = unescape(cur), !u.isEmpty else { return nil }
        items.append(u)
        return items
    }

    static func parse(_ c: inout TokenCursor) throws(PresentationError) -> SVCB {
        let prio = try c.int("SvcPriority", UInt16.self)
        let target = try c.name("TargetName")
        var params: [SvcParam] = []
        while !c.atEnd {
            let t = try c.next("SvcParam")
            let raw = t.bytes
            let eq = raw.firstIndex(of: UInt8(ascii: "="))
            let keyText = String(decoding: eq.map { raw[..<$0] } ?? raw[...], as: UTF8.self)
            guard let key = key(keyText) else { throw c.fail("unknown SvcParamKey '\(keyText)'") }
            let value: [UInt8]? = eq.map { Array(raw[($0 + 1)...]) }
            guard !params.contains(where: { $0.key == key }) else { throw c.fail("SvcParamKey '\(keyText)' appears twice") }
            params.append(SvcParam(key: key, value: try encodeValue(key: key, value, &c)))
        }
        params.sort { $0.key < $1.key }
        if prio == 0 && !params.isEmpty { throw PresentationError("AliasMode (priority 0) takes no SvcParams", token: 2) }
        return SVCB(priority: prio, target: target, params: params)
    }

    static func encodeValue(key: UInt16, _ v: [UInt8]?, _ c: inout TokenCursor) throws(PresentationError) -> [UInt8] {
        switch key {
        case 2:
            guard v?.isEmpty ?? true else { throw c.fail("no-default-alpn takes no value") }
            return []
        case 0:
            guard let v, let items = commaList(v) else { throw c.fail("mandatory needs a list of keys") }
            var keys: [UInt16] = []
            for i in items {
                guard let k = Self.key(String(decoding: i, as: UTF8.self)) else { throw c.fail("unknown key in mandatory") }
                keys.append(k)
            }
            return keys.sorted().flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case 1:
            guard let v, let items = commaList(v) else { throw c.fail("alpn needs a list of protocol ids") }
            var out: [UInt8] = []
            for i in items {
                guard i.count <= 255 else { throw c.fail("alpn id longer than 255") }
                out.append(UInt8(i.count))
                out += i
            }
            return out
        case 3:
            guard let v, let p = UInt16(String(decoding: v, as: UTF8.self)) else { throw c.fail("port needs a number 0-65535") }
            return [UInt8(p >> 8), UInt8(p & 0xFF)]
        case 4:
            guard let v, let items = commaList(v) else { throw c.fail("ipv4hint needs addresses") }
            var out: [UInt8] = []
            for i in items {
                guard let a = IPv4Address(utf8: i) else { throw c.fail("bad address in ipv4hint") }
                out += a.bytes
            }
            return out
        case 6:
            guard let v, let items = commaList(v) else { throw c.fail("ipv6hint needs addresses") }
            var out: [UInt8] = []
            for i in items {
                guard let a = IPv6Address(utf8: i) else { throw c.fail("bad address in ipv6hint") }
                out += a.bytes
            }
            return out
        case 5:
            guard let v, let b = Base64.decode(v) else { throw c.fail("ech needs base64") }
            return b
        default:
            guard let v else { return [] }
            guard let u = unescape(v), u.count <= 65535 else { throw c.fail("bad escape in SvcParam value") }
            return u
        }
    }

    static func format(_ s: SVCB) -> String {
        var parts = ["\(s.priority)", s.target.description]
        for p in s.params { parts.append(formatParam(p)) }
        return parts.joined(separator: " ")
    }

    static func formatParam(_ p: SvcParam) -> String {
        let v = p.value
        let generic = "key\(p.key)" + (v.isEmpty ? "" : "=" + quoted(v))
        switch p.key {
        case 0:
            guard !v.isEmpty, v.count % 2 == 0 else { return generic }
            let keys = stride(from: 0, to: v.count, by: 2).map { keyName(UInt16(v[$0]) << 8 | UInt16(v[$0 + 1])) }
            return "mandatory=" + keys.joined(separator: ",")
        case 1:
            // Bytes, not String: an id may hold any octet (invalid UTF-8 must survive the round trip).
            var out: [UInt8] = Array("alpn=\"".utf8)
            var i = 0
            while i < v.count {
                let n = Int(v[i])
                guard n > 0, i + 1 + n <= v.count else { return generic }
                if i > 0 { out.append(UInt8(ascii: ",")) }
                for b in v[(i + 1)...(i + n)] {
                    switch b {
                    case UInt8(ascii: ","):
                        // RFC 9460 Appendix A.1: an escaped comma, escaped again for presentation.
                        out += [UInt8(ascii: "\\"), UInt8(ascii: "\\"), b]
                    case UInt8(ascii: "\\"): out += Array("\\092".utf8)
                    case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), b]
                    case 0x20...0x7E: out.append(b)
                    default: out += [UInt8(ascii: "\\"), 0x30 + b / 100, 0x30 + (b / 10) % 10, 0x30 + b % 10]
                    }
                }
                i += 1 + n
            }
            guard i > 0 else { return generic }
            out.append(UInt8(ascii: "\""))
            return String(decoding: out, as: UTF8.self)
        case 2: return v.isEmpty ? "no-default-alpn" : generic
        case 3: return v.count == 2 ? "port=\(UInt16(v[0]) << 8 | UInt16(v[1]))" : generic
        case 4:
            guard !v.isEmpty, v.count % 4 == 0 else { return generic }
            return "ipv4hint=" + stride(from: 0, to: v.count, by: 4).map {
                IPv4Address(v[$0], v[$0 + 1], v[$0 + 2], v[$0 + 3]).description
            }.joined(separator: ",")
        case 5: return v.isEmpty ? generic : "ech=" + Base64.encode(v)
        case 6:
            guard !v.isEmpty, v.count % 16 == 0 else { return generic }
            return "ipv6hint=" + stride(from: 0, to: v.count, by: 16).map {
                IPv6Address(bytes: Array(v[$0..<($0 + 16)])).description
            }.joined(separator: ",")
        default: return generic
        }
    }
}

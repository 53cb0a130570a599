/// Typed RDATA. The record's type travels beside it (NS, CNAME, PTR and DNAME share `.name`; SVCB and HTTPS
/// share `.svcb`), and anything not modelled is kept as raw bytes (RFC 3597).
public enum RData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case name(DNSName)
    case soa(SOA)
    case mx(preference: UInt16, exchange: DNSName)
    case txt([[UInt8]])
    case hinfo(cpu: [UInt8], os: [UInt8])
    case srv(SRV)
    case naptr(NAPTR)
    case caa(flags: UInt8, tag: [UInt8], value: [UInt8])
    case sshfp(algorithm: UInt8, fingerprintType: UInt8, fingerprint: [UInt8])
    case tlsa(usage: UInt8, selector: UInt8, matchingType: UInt8, data: [UInt8])
    case svcb(SVCB)
    case ds(keyTag: UInt16, algorithm: UInt8, digestType: UInt8, digest: [UInt8])
    case dnskey(flags: UInt16, protocol: UInt8, algorithm: UInt8, publicKey: [UInt8])
    case rrsig(RRSIG)
    case nsec(next: DNSName, types: [RRType])
    case unknown([UInt8])
}

public struct SOA: Hashable, Sendable {
    public var mname: DNSName, rname: DNSName
    public var serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32
    public init(mname: DNSName, rname: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
        self.mname = mname
        self.rname = rname
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

public struct SRV: Hashable, Sendable {
    public var priority: UInt16, weight: UInt16, port: UInt16, target: DNSName
    public init(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

public struct NAPTR: Hashable, Sendable {
    public var order: UInt16, preference: UInt16
    public var flags: [UInt8], services: [UInt8], regexp: [UInt8]
    public var replacement: DNSName
}

public struct SVCB: Hashable, Sendable {
    public var priority: UInt16
    public var target: DNSName
    /// SvcParams in wire form, sorted by key, keys unique (RFC 9460 §2.2).
    public var params: [SvcParam]
}

public struct SvcParam: Hashable, Sendable {
    public var key: UInt16
    public var value: [UInt8]
}

public struct RRSIG: Hashable, Sendable {
    public var typeCovered: RRType, algorithm: UInt8, labels: UInt8, originalTTL: UInt32
    public var expiration: UInt32, inception: UInt32, keyTag: UInt16
    public var signer: DNSName
    public var signature: [UInt8]
}

extension RData {
    /// Reads RDATA of `type` occupying exactly `length` bytes at the reader's position.
    public static func read(type: RRType, from r: inout WireReader, length: Int) throws(WireError) -> RData {
        let start = r.position
        let end = start &+ length
        guard length >= 0, end <= r.limit else { throw WireError(.truncated, at: start, "RDATA of \(type)") }
        let savedLimit = r.limit
        r.limit = end
        defer { r.limit = savedLimit }
        if length == 0 {
            // Empty RDATA is legal only in UPDATE prerequisites/deletes; carry it raw.
            return .unknown([])
        }
        let rd: RData
        switch type {
        case .a:
            guard length == 4 else { throw WireError(.badRData, at: start, "A RDATA must be 4 bytes") }
            rd = .a(IPv4Address(try r.readU32()))
        case .aaaa:
            guard length == 16 else { throw WireError(.badRData, at: start, "AAAA RDATA must be 16 bytes") }
            rd = .aaaa(IPv6Address(bytes: try r.readBytes(16)))
        case .ns, .cname, .ptr, .dname:
            rd = .name(try r.readName())
        case .soa:
            rd = .soa(
                SOA(
                    mname: try r.readName(), rname: try r.readName(), serial: try r.readU32(), refresh: try r.readU32(),
                    retry: try r.readU32(), expire: try r.readU32(), minimum: try r.readU32()))
        case .mx:
            rd = .mx(preference: try r.readU16(), exchange: try r.readName())
        case .txt:
            var strings: [[UInt8]] = []
            while r.position < end { strings.append(try r.readCharacterString()) }
            rd = .txt(strings)
        case .hinfo:
            rd = .hinfo(cpu: try r.readCharacterString(), os: try r.readCharacterString())
        case .srv:
            rd = .srv(SRV(priority: try r.readU16(), weight: try r.readU16(), port: try r.readU16(), target: try r.readName()))
        case .naptr:
            rd = .naptr(
                NAPTR(
                    order: try r.readU16(), preference: try r.readU16(), flags: try r.readCharacterString(),
                    services: try r.readCharacterString(), regexp: try r.readCharacterString(), replacement: try r.readName()))
        case .caa:
            let flags = try r.readU8()
            let tagLen = Int(try r.readU8())
            guard tagLen > 0 else { throw WireError(.badRData, at: start, "CAA tag is empty") }
            let tag = try r.readBytes(tagLen)
            rd = .caa(flags: flags, tag: tag, value: try r.readBytes(end - r.position))
        case .sshfp:
            rd = .sshfp(algorithm: try r.readU8(), fingerprintType: try r.readU8(), fingerprint: try r.readBytes(end - r.position))
        case .tlsa:
            rd = .tlsa(
                usage: try r.readU8(), selector: try r.readU8(), matchingType: try r.readU8(), data: try r.readBytes(end - r.position))
        case .svcb, .https:
            let prio = try r.readU16()
            let target = try r.readName()
            var params: [SvcParam] = []
            var last: Int = -1
            while r.position < end {
                let key = try r.readU16()
                guard Int(key) > last else { throw WireError(.badRData, at: r.position, "SvcParam keys not strictly increasing") }
                last = Int(key)
                let len = Int(try r.readU16())
                params.append(SvcParam(key: key, value: try r.readBytes(len)))
            }
            rd = .svcb(SVCB(priority: prio, target: target, params: params))
        case .ds, .cds:
            rd = .ds(keyTag: try r.readU16(), algorithm: try r.readU8(), digestType: try r.readU8(), digest: try r.readBytes(end - r.position))
        case .dnskey, .cdnskey:
            rd = .dnskey(flags: try r.readU16(), protocol: try r.readU8(), algorithm: try r.readU8(), publicKey: try r.readBytes(end - r.position))
        case .rrsig:
            rd = .rrsig(
                RRSIG(
                    typeCovered: RRType(try r.readU16()), algorithm: try r.readU8(), labels: try r.readU8(),
                    originalTTL: try r.readU32(), expiration: try r.readU32(), inception: try r.readU32(),
                    keyTag: try r.readU16(), signer: try r.readName(), signature: try r.readBytes(end - r.position)))
        case .nsec:
            let next = try r.readName()
            rd = .nsec(next: next, types: try TypeBitmap.read(from: &r, end: end))
        default:
            rd = .unknown(try r.readBytes(length))
        }
        guard r.position == end else { throw WireError(.badRData, at: r.position, "RDATA of \(type) has trailing bytes") }
        return rd
    }

    /// Writes RDATA (without its length). Only the RFC 1035 types compress their names (RFC 3597 §4).
    public func write(type: RRType, to w: inout WireWriter) {
        let compress = type == .ns || type == .cname || type == .ptr || type == .soa || type == .mx
        switch self {
        case .a(let v): w.u32(v.value)
        case .aaaa(let v): w.append(v.bytes)
        case .name(let n): w.name(n, compress: compress)
        case .soa(let s):
            w.name(s.mname, compress: compress)
            w.name(s.rname, compress: compress)
            w.u32(s.serial)
            w.u32(s.refresh)
            w.u32(s.retry)
            w.u32(s.expire)
            w.u32(s.minimum)
        case .mx(let p, let n):
            w.u16(p)
            w.name(n, compress: compress)
        case .txt(let strings): for s in strings { w.characterString(s) }
        case .hinfo(let c, let o):
            w.characterString(c)
            w.characterString(o)
        case .srv(let s):
            w.u16(s.priority)
            w.u16(s.weight)
            w.u16(s.port)
            w.name(s.target, compress: false)
        case .naptr(let n):
            w.u16(n.order)
            w.u16(n.preference)
            w.characterString(n.flags)
            w.characterString(n.services)
            w.characterString(n.regexp)
            w.name(n.replacement, compress: false)
        case .caa(let f, let tag, let value):
            w.u8(f)
            w.characterString(tag)
            w.append(value)
        case .sshfp(let a, let t, let fp):
            w.u8(a)
            w.u8(t)
            w.append(fp)
        case .tlsa(let u, let s, let m, let d):
            w.u8(u)
            w.u8(s)
            w.u8(m)
            w.append(d)
        case .svcb(let s):
            w.u16(s.priority)
            w.name(s.target, compress: false)
            for p in s.params {
                w.u16(p.key)
                w.u16(UInt16(p.value.count))
                w.append(p.value)
            }
        case .ds(let k, let a, let d, let dig):
            w.u16(k)
            w.u8(a)
            w.u8(d)
            w.append(dig)
        case .dnskey(let f, let p, let a, let key):
            w.u16(f)
            w.u8(p)
            w.u8(a)
            w.append(key)
        case .rrsig(let s):
            w.u16(s.typeCovered.rawValue)
            w.u8(s.algorithm)
            w.u8(s.labels)
            w.u32(s.originalTTL)
            w.u32(s.expiration)
            w.u32(s.inception)
            w.u16(s.keyTag)
            w.name(s.signer, compress: false)
            w.append(s.signature)
        case .nsec(let next, let types):
            w.name(next, compress: false)
            TypeBitmap.write(types, to: &w)
        case .unknown(let b): w.append(b)
        }
    }

    /// Uncompressed wire form; with `canonical`, names lowercased for the types RFC 4034 §6.2 lists.
    public func wireBytes(type: RRType, canonical: Bool = false) -> [UInt8] {
        var w = WireWriter(capacity: 64)
        w.compressionEnabled = false
        let rd: RData
        if canonical {
            switch self {
            case .name(let n): rd = .name(n.lowercased)
            case .soa(var s):
                s.mname = s.mname.lowercased
                s.rname = s.rname.lowercased
                rd = .soa(s)
            case .mx(let p, let n): rd = .mx(preference: p, exchange: n.lowercased)
            case .srv(var s):
                s.target = s.target.lowercased
                rd = .srv(s)
            case .naptr(var n):
                n.replacement = n.replacement.lowercased
                rd = .naptr(n)
            case .rrsig(var s):
                s.signer = s.signer.lowercased
                rd = .rrsig(s)
            default: rd = self
            }
        } else {
            rd = self
        }
        rd.write(type: type, to: &w)
        return w.bytes
    }

    /// Names this RDATA points at that may deserve additional-section addresses (RFC 1035 §3.3.9, RFC 2782).
    public var additionalTarget: DNSName? {
        switch self {
        case .mx(_, let n): n
        case .srv(let s): s.target
        case .svcb(let s): s.target.isRoot ? nil : s.target
        default: nil
        }
    }

    public var soa: SOA? {
        if case .soa(let s) = self { return s }
        return nil
    }

    public var targetName: DNSName? {
        if case .name(let n) = self { return n }
        return nil
    }
}

/// The NSEC/NSEC3 type bitmap (RFC 4034 §4.1.2).
enum TypeBitmap {
    static func read(from r: inout WireReader, end: Int) throws(WireError) -> [RRType] {
        var types: [RRType] = []
        var lastWindow = -1
        while r.position < end {
            let window = Int(try r.readU8())
            let len = Int(try r.readU8())
            guard window > lastWindow, (1...32).contains(len) else { throw WireError(.badRData, at: r.position, "NSEC bitmap window") }
            lastWindow = window
            let bits = try r.readBytes(len)
            for (i, b) in bits.enumerated() where b != 0 {
                for bit in 0..<8 where b & (0x80 >> UInt8(bit)) != 0 {
                    types.append(RRType(UInt16(window * 256 + i * 8 + bit)))
                }
            }
        }
        return types
    }

    static func write(_ types: [RRType], to w: inout WireWriter) {
        let sorted = Set(types.map(\.rawValue)).sorted()
        var i = 0
        while i < sorted.count {
            let window = Int(sorted[i] >> 8)
            var bits = [UInt8](repeating: 0, count: 32)
            var maxByte = 0
            while i < sorted.count && Int(sorted[i] >> 8) == window {
                let low = Int(sorted[i] & 0xFF)
                bits[low / 8] |= 0x80 >> UInt8(low % 8)
                maxByte = max(maxByte, low / 8)
                i += 1
            }
            w.u8(UInt8(window))
            w.u8(UInt8(maxByte + 1))
            w.append(bits[0...maxByte])
        }
    }
}

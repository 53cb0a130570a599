// RDATA kinds that hold keys, digests and policy: CAA, SSHFP, TLSA and the DNSSEC types (served, never validated).

public struct CAA: Hashable, Sendable, RDataKind {
    public var flags: UInt8, tag: [UInt8], value: [UInt8]
    public init(flags: UInt8, tag: [UInt8], value: [UInt8]) {
        self.flags = flags
        self.tag = tag
        self.value = value
    }
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        flags = try r.readU8()
        let tagLen = Int(try r.readU8())
        guard tagLen > 0 else { throw WireError(.badRData, at: r.position - 1, "CAA tag is empty") }
        tag = try r.readBytes(tagLen)
        value = try r.readBytes(end - r.position)
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u8(flags)
        w.characterString(tag)
        w.append(value)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        flags = try c.int("flags", UInt8.self)
        let tagTok = try c.next("tag")
        guard !tagTok.bytes.isEmpty, tagTok.bytes.count <= 255,
            tagTok.bytes.allSatisfy({ ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) })
        else { throw c.fail("CAA tag must be letters and digits, found '\(tagTok.text)'") }
        tag = tagTok.bytes
        let valueTok = try c.next("value")
        guard let v = unescape(valueTok.bytes) else { throw c.fail("bad escape in CAA value") }
        value = v
    }
    var presentation: String { "\(flags) \(String(decoding: tag, as: UTF8.self)) \(quoted(value))" }
    func rdata(_ type: RRType) -> RData { .caa(self) }
}

public struct SSHFP: Hashable, Sendable, RDataKind {
    public var algorithm: UInt8, fingerprintType: UInt8, fingerprint: [UInt8]
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        algorithm = try r.readU8()
        fingerprintType = try r.readU8()
        fingerprint = try r.readBytes(end - r.position)
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u8(algorithm)
        w.u8(fingerprintType)
        w.append(fingerprint)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        algorithm = try c.int("algorithm", UInt8.self)
        fingerprintType = try c.int("fingerprint type", UInt8.self)
        fingerprint = try c.hexRest("fingerprint")
    }
    var presentation: String { "\(algorithm) \(fingerprintType) \(Hex.encode(fingerprint, uppercase: true))" }
    var hasTextForm: Bool { !fingerprint.isEmpty }
    func rdata(_ type: RRType) -> RData { .sshfp(self) }
}

/// DHCID (RFC 4701): an opaque digest of a DHCP client's identity, base64 in text. Kea's DHCP-DDNS compares
/// it in its prerequisites (RFC 4703), so it is stored and compared byte for byte, never interpreted.
public struct DHCID: Hashable, Sendable, RDataKind {
    public var digest: [UInt8]
    public init(digest: [UInt8]) { self.digest = digest }
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        digest = try r.readBytes(end - r.position)
    }
    func write(to w: inout WireWriter, compress: Bool) { w.append(digest) }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        digest = try c.base64Rest("DHCID digest")
    }
    var presentation: String { Base64.encode(digest) }
    var hasTextForm: Bool { !digest.isEmpty }
    func rdata(_ type: RRType) -> RData { .dhcid(self) }
}

public struct TLSA: Hashable, Sendable, RDataKind {
    public var usage: UInt8, selector: UInt8, matchingType: UInt8, data: [UInt8]
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        usage = try r.readU8()
        selector = try r.readU8()
        matchingType = try r.readU8()
        data = try r.readBytes(end - r.position)
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u8(usage)
        w.u8(selector)
        w.u8(matchingType)
        w.append(data)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        usage = try c.int("usage", UInt8.self)
        selector = try c.int("selector", UInt8.self)
        matchingType = try c.int("matching type", UInt8.self)
        data = try c.hexRest("certificate data")
    }
    var presentation: String { "\(usage) \(selector) \(matchingType) \(Hex.encode(data, uppercase: true))" }
    var hasTextForm: Bool { !data.isEmpty }
    func rdata(_ type: RRType) -> RData { .tlsa(self) }
}

/// DS and CDS.
public struct DS: Hashable, Sendable, RDataKind {
    public var keyTag: UInt16, algorithm: UInt8, digestType: UInt8, digest: [UInt8]
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        keyTag = try r.readU16()
        algorithm = try r.readU8()
        digestType = try r.readU8()
        digest = try r.readBytes(end - r.position)
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u16(keyTag)
        w.u8(algorithm)
        w.u8(digestType)
        w.append(digest)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        keyTag = try c.int("key tag", UInt16.self)
        algorithm = try c.algorithm()
        digestType = try c.int("digest type", UInt8.self)
        digest = try c.hexRest("digest")
    }
    var presentation: String { "\(keyTag) \(algorithm) \(digestType) \(Hex.encode(digest, uppercase: true))" }
    var hasTextForm: Bool { !digest.isEmpty }
    func rdata(_ type: RRType) -> RData { type == .cds ? .cds(self) : .ds(self) }
}

/// DNSKEY and CDNSKEY.
public struct DNSKEY: Hashable, Sendable, RDataKind {
    public var flags: UInt16, `protocol`: UInt8, algorithm: UInt8, publicKey: [UInt8]
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        flags = try r.readU16()
        `protocol` = try r.readU8()
        algorithm = try r.readU8()
        publicKey = try r.readBytes(end - r.position)
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u16(flags)
        w.u8(`protocol`)
        w.u8(algorithm)
        w.append(publicKey)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        flags = try c.int("flags", UInt16.self)
        `protocol` = try c.int("protocol", UInt8.self)
        algorithm = try c.algorithm()
        publicKey = try c.base64Rest("public key")
    }
    var presentation: String { "\(flags) \(`protocol`) \(algorithm) \(Base64.encode(publicKey))" }
    var hasTextForm: Bool { !publicKey.isEmpty }
    func rdata(_ type: RRType) -> RData { type == .cdnskey ? .cdnskey(self) : .dnskey(self) }
}

public struct RRSIG: Hashable, Sendable, RDataKind {
    public var typeCovered: RRType, algorithm: UInt8, labels: UInt8, originalTTL: UInt32
    public var expiration: UInt32, inception: UInt32, keyTag: UInt16
    public var signer: DNSName
    public var signature: [UInt8]
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        typeCovered = RRType(try r.readU16())
        algorithm = try r.readU8()
        labels = try r.readU8()
        originalTTL = try r.readU32()
        expiration = try r.readU32()
        inception = try r.readU32()
        keyTag = try r.readU16()
        signer = try r.readName()
        signature = try r.readBytes(end - r.position)
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u16(typeCovered.rawValue)
        w.u8(algorithm)
        w.u8(labels)
        w.u32(originalTTL)
        w.u32(expiration)
        w.u32(inception)
        w.u16(keyTag)
        w.name(signer, compress: false)
        w.append(signature)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        let tt = try c.next("type covered")
        guard let covered = RRType(text: tt.text) else { throw c.fail("unknown type '\(tt.text)'") }
        typeCovered = covered
        algorithm = try c.algorithm()
        labels = try c.int("labels", UInt8.self)
        originalTTL = try c.duration("original TTL")
        let exp = try c.next("expiration"), inc = try c.next("inception")
        guard let e = SigTime.parse(exp.bytes), let i = SigTime.parse(inc.bytes) else {
            throw c.fail("times must be YYYYMMDDHHmmSS or seconds")
        }
        expiration = e
        inception = i
        keyTag = try c.int("key tag", UInt16.self)
        signer = try c.name("signer")
        signature = try c.base64Rest("signature")
    }
    var presentation: String {
        "\(typeCovered) \(algorithm) \(labels) \(originalTTL) \(SigTime.format(expiration)) "
            + "\(SigTime.format(inception)) \(keyTag) \(signer) \(Base64.encode(signature))"
    }
    var hasTextForm: Bool { !signature.isEmpty }
    var canonical: RRSIG {
        var s = self
        s.signer = signer.lowercased
        return s
    }
    func rdata(_ type: RRType) -> RData { .rrsig(self) }
}

/// The next name is not lowercased in canonical form (RFC 6840 §5.1).
public struct NSEC: Hashable, Sendable, RDataKind {
    public var next: DNSName
    /// In type order, each once: the wire bitmap is a set, so two values are equal exactly when their wire
    /// forms are.
    public var types: [RRType]
    public init(next: DNSName, types: [RRType]) {
        self.next = next
        self.types = Self.normalized(types)
    }
    static func normalized(_ types: [RRType]) -> [RRType] { Array(Set(types)).sorted() }
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        next = try r.readName()
        types = try TypeBitmap.read(from: &r, end: end)
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.name(next, compress: false)
        TypeBitmap.write(types, to: &w)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        next = try c.name("next name")
        var listed: [RRType] = []
        while !c.atEnd {
            let t = try c.next("type")
            guard let ty = RRType(text: t.text) else { throw c.fail("unknown type '\(t.text)'") }
            listed.append(ty)
        }
        types = Self.normalized(listed)
    }
    var presentation: String { ([next.description] + types.map(\.description)).joined(separator: " ") }
    func rdata(_ type: RRType) -> RData { .nsec(self) }
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

/// One kind of RDATA with its wire and presentation codecs side by side (miekg/dns keeps a type's pack and
/// unpack together), so a new record type is one conformance plus a line in `RData.kind(of:)`.
protocol RDataKind: Hashable, Sendable {
    /// Reads the RDATA, which ends at `end` (also the reader's limit); `RData.read` checks nothing is left over.
    init(reading r: inout WireReader, end: Int) throws(WireError)
    /// Writes the RDATA without its length; `compress` is set only for the RFC 1035 types (RFC 3597 §4).
    func write(to w: inout WireWriter, compress: Bool)
    /// Parses the RDATA tokens of a presentation-format record.
    init(parsing c: inout TokenCursor) throws(PresentationError)
    var presentation: String { get }
    /// False when `presentation` would leave out a field the text form requires (an empty digest, key or
    /// signature): such RDATA is printed in the generic form instead, which always parses back (RFC 3597 §5).
    var hasTextForm: Bool { get }
    /// Embedded names lowercased where RFC 4034 §6.2 asks for it; the value itself otherwise.
    var canonical: Self { get }
    /// This value as the RData of `type` (one kind serves NS/CNAME/PTR/DNAME, SVCB/HTTPS, DS/CDS, DNSKEY/CDNSKEY).
    func rdata(_ type: RRType) -> RData
}

extension RDataKind {
    var canonical: Self { self }
    var hasTextForm: Bool { true }
}

// MARK: addresses and names

extension IPv4Address: RDataKind {
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        guard end - r.position == 4 else { throw WireError(.badRData, at: r.position, "A RDATA must be 4 bytes") }
        self.init(try r.readU32())
    }
    func write(to w: inout WireWriter, compress: Bool) { w.u32(value) }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        let t = try c.next("IPv4 address")
        guard let v = IPv4Address(utf8: t.bytes) else { throw c.fail("expected an IPv4 address, found '\(t.text)'") }
        self = v
    }
    var presentation: String { description }
    func rdata(_ type: RRType) -> RData { .a(self) }
}

extension IPv6Address: RDataKind {
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        guard end - r.position == 16 else { throw WireError(.badRData, at: r.position, "AAAA RDATA must be 16 bytes") }
        let h = UInt64(try r.readU32()) << 32 | UInt64(try r.readU32())
        self.init(high: h, low: UInt64(try r.readU32()) << 32 | UInt64(try r.readU32()))
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u32(UInt32(truncatingIfNeeded: high >> 32)); w.u32(UInt32(truncatingIfNeeded: high))
        w.u32(UInt32(truncatingIfNeeded: low >> 32)); w.u32(UInt32(truncatingIfNeeded: low))
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        let t = try c.next("IPv6 address")
        guard let v = IPv6Address(utf8: t.bytes) else { throw c.fail("expected an IPv6 address, found '\(t.text)'") }
        self = v
    }
    var presentation: String { description }
    func rdata(_ type: RRType) -> RData { .aaaa(self) }
}

/// NS, CNAME, PTR and DNAME: RDATA that is one name.
extension DNSName: RDataKind {
    init(reading r: inout WireReader, end: Int) throws(WireError) { self = try r.readName() }
    func write(to w: inout WireWriter, compress: Bool) { w.name(self, compress: compress) }
    init(parsing c: inout TokenCursor) throws(PresentationError) { self = try c.name("target name") }
    var presentation: String { description }
    var canonical: DNSName { lowercased }
    func rdata(_ type: RRType) -> RData { RData.pointing(type, to: self) ?? .unknown(type, wire) }
}

// MARK: RFC 1035 and friends

public struct SOA: Hashable, Sendable, RDataKind {
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
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        self.init(
            mname: try r.readName(), rname: try r.readName(), serial: try r.readU32(), refresh: try r.readU32(),
            retry: try r.readU32(), expire: try r.readU32(), minimum: try r.readU32())
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.name(mname, compress: compress)
        w.name(rname, compress: compress)
        w.u32(serial)
        w.u32(refresh)
        w.u32(retry)
        w.u32(expire)
        w.u32(minimum)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        self.init(
            mname: try c.name("primary server (MNAME)"), rname: try c.name("mailbox (RNAME)"),
            serial: try c.int("serial", UInt32.self), refresh: try c.duration("refresh"), retry: try c.duration("retry"),
            expire: try c.duration("expire"), minimum: try c.duration("minimum"))
    }
    var presentation: String { "\(mname) \(rname) \(serial) \(refresh) \(retry) \(expire) \(minimum)" }
    var canonical: SOA {
        var s = self
        s.mname = mname.lowercased
        s.rname = rname.lowercased
        return s
    }
    func rdata(_ type: RRType) -> RData { .soa(self) }
}

public struct MX: Hashable, Sendable, RDataKind {
    public var preference: UInt16
    public var exchange: DNSName
    public init(preference: UInt16, exchange: DNSName) {
        self.preference = preference
        self.exchange = exchange
    }
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        self.init(preference: try r.readU16(), exchange: try r.readName())
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u16(preference)
        w.name(exchange, compress: compress)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        self.init(preference: try c.int("preference", UInt16.self), exchange: try c.name("exchange"))
    }
    var presentation: String { "\(preference) \(exchange)" }
    var canonical: MX { MX(preference: preference, exchange: exchange.lowercased) }
    func rdata(_ type: RRType) -> RData { .mx(self) }
}

public struct TXT: Hashable, Sendable, RDataKind {
    /// One or more character-strings, each up to 255 octets.
    public var strings: [[UInt8]]
    public init(_ strings: [[UInt8]]) { self.strings = strings }
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        strings = []
        while r.position < end { strings.append(try r.readCharacterString()) }
    }
    func write(to w: inout WireWriter, compress: Bool) { for s in strings { w.characterString(s) } }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        strings = []
        repeat { strings.append(try c.characterString("text")) } while !c.atEnd
    }
    var presentation: String { strings.map(quoted).joined(separator: " ") }
    func rdata(_ type: RRType) -> RData { .txt(self) }
}

public struct HINFO: Hashable, Sendable, RDataKind {
    public var cpu: [UInt8], os: [UInt8]
    public init(cpu: [UInt8], os: [UInt8]) {
        self.cpu = cpu
        self.os = os
    }
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        self.init(cpu: try r.readCharacterString(), os: try r.readCharacterString())
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.characterString(cpu)
        w.characterString(os)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        self.init(cpu: try c.characterString("CPU"), os: try c.characterString("OS"))
    }
    var presentation: String { "\(quoted(cpu)) \(quoted(os))" }
    func rdata(_ type: RRType) -> RData { .hinfo(self) }
}

public struct SRV: Hashable, Sendable, RDataKind {
    public var priority: UInt16, weight: UInt16, port: UInt16, target: DNSName
    public init(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        self.init(priority: try r.readU16(), weight: try r.readU16(), port: try r.readU16(), target: try r.readName())
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u16(priority)
        w.u16(weight)
        w.u16(port)
        w.name(target, compress: false)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        self.init(
            priority: try c.int("priority", UInt16.self), weight: try c.int("weight", UInt16.self),
            port: try c.int("port", UInt16.self), target: try c.name("target"))
    }
    var presentation: String { "\(priority) \(weight) \(port) \(target)" }
    var canonical: SRV { SRV(priority: priority, weight: weight, port: port, target: target.lowercased) }
    func rdata(_ type: RRType) -> RData { .srv(self) }
}

public struct NAPTR: Hashable, Sendable, RDataKind {
    public var order: UInt16, preference: UInt16
    public var flags: [UInt8], services: [UInt8], regexp: [UInt8]
    public var replacement: DNSName
    init(reading r: inout WireReader, end: Int) throws(WireError) {
        order = try r.readU16()
        preference = try r.readU16()
        flags = try r.readCharacterString()
        services = try r.readCharacterString()
        regexp = try r.readCharacterString()
        replacement = try r.readName()
    }
    func write(to w: inout WireWriter, compress: Bool) {
        w.u16(order)
        w.u16(preference)
        w.characterString(flags)
        w.characterString(services)
        w.characterString(regexp)
        w.name(replacement, compress: false)
    }
    init(parsing c: inout TokenCursor) throws(PresentationError) {
        order = try c.int("order", UInt16.self)
        preference = try c.int("preference", UInt16.self)
        flags = try c.characterString("flags")
        services = try c.characterString("services")
        regexp = try c.characterString("regexp")
        replacement = try c.name("replacement")
    }
    var presentation: String { "\(order) \(preference) \(quoted(flags)) \(quoted(services)) \(quoted(regexp)) \(replacement)" }
    var canonical: NAPTR {
        var n = self
        n.replacement = replacement.lowercased
        return n
    }
    func rdata(_ type: RRType) -> RData { .naptr(self) }
}

/// Typed RDATA. Each case is one record type, so a value knows its own type; each payload is an `RDataKind`
/// that keeps its wire and presentation codecs side by side (RDataKinds.swift). Types not modelled are kept as
/// raw bytes (RFC 3597), as is the empty RDATA of UPDATE prerequisites and deletes.
/// Payloads over 16 bytes are `indirect` (boxed once when made): a zone holds a million RDATA values inline,
/// so their size is the largest common payload (an AAAA), not SOA's or RRSIG's.
public enum RData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    case dname(DNSName)
    indirect case soa(SOA)
    case mx(MX)
    case txt(TXT)
    case hinfo(HINFO)
    case srv(SRV)
    indirect case naptr(NAPTR)
    indirect case caa(CAA)
    case sshfp(SSHFP)
    case tlsa(TLSA)
    indirect case svcb(SVCB)
    indirect case https(SVCB)
    case ds(DS)
    case cds(DS)
    case dnskey(DNSKEY)
    case cdnskey(DNSKEY)
    indirect case rrsig(RRSIG)
    case nsec(NSEC)
    case dhcid(DHCID)
    case unknown(RRType, [UInt8])
}

extension RData {
    /// The one table from a type to the kind that reads and parses it; nil: kept as raw bytes.
    static func kind(of type: RRType) -> (any RDataKind.Type)? {
        switch type {
        case .a: IPv4Address.self
        case .aaaa: IPv6Address.self
        case .ns, .cname, .ptr, .dname: DNSName.self
        case .soa: SOA.self
        case .mx: MX.self
        case .txt: TXT.self
        case .hinfo: HINFO.self
        case .srv: SRV.self
        case .naptr: NAPTR.self
        case .caa: CAA.self
        case .sshfp: SSHFP.self
        case .tlsa: TLSA.self
        case .svcb, .https: SVCB.self
        case .ds, .cds: DS.self
        case .dnskey, .cdnskey: DNSKEY.self
        case .rrsig: RRSIG.self
        case .nsec: NSEC.self
        case .dhcid: DHCID.self
        default: nil
        }
    }

    /// The payload as its kind; nil for raw bytes.
    var payload: (any RDataKind)? {
        switch self {
        case .a(let v): v
        case .aaaa(let v): v
        case .ns(let v), .cname(let v), .ptr(let v), .dname(let v): v
        case .soa(let v): v
        case .mx(let v): v
        case .txt(let v): v
        case .hinfo(let v): v
        case .srv(let v): v
        case .naptr(let v): v
        case .caa(let v): v
        case .sshfp(let v): v
        case .tlsa(let v): v
        case .svcb(let v), .https(let v): v
        case .ds(let v), .cds(let v): v
        case .dnskey(let v), .cdnskey(let v): v
        case .rrsig(let v): v
        case .nsec(let v): v
        case .dhcid(let v): v
        case .unknown: nil
        }
    }

    public var type: RRType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .ns: .ns
        case .cname: .cname
        case .ptr: .ptr
        case .dname: .dname
        case .soa: .soa
        case .mx: .mx
        case .txt: .txt
        case .hinfo: .hinfo
        case .srv: .srv
        case .naptr: .naptr
        case .caa: .caa
        case .sshfp: .sshfp
        case .tlsa: .tlsa
        case .svcb: .svcb
        case .https: .https
        case .ds: .ds
        case .cds: .cds
        case .dnskey: .dnskey
        case .cdnskey: .cdnskey
        case .rrsig: .rrsig
        case .nsec: .nsec
        case .dhcid: .dhcid
        case .unknown(let t, _): t
        }
    }

    /// Reads RDATA of `type` occupying exactly `length` bytes at the reader's position.
    public static func read(type: RRType, from r: inout WireReader, length: Int) throws(WireError) -> RData {
        let start = r.position
        let end = start &+ length
        guard length >= 0, end <= r.limit else { throw WireError(.truncated, at: start, "RDATA of \(type)") }
        let savedLimit = r.limit
        r.limit = end
        defer { r.limit = savedLimit }
        // Empty RDATA is legal only in UPDATE prerequisites/deletes; carry it raw.
        guard length > 0, let kind = kind(of: type) else { return .unknown(type, try r.readBytes(length)) }
        let rd = try kind.init(reading: &r, end: end).rdata(type)
        guard r.position == end else { throw WireError(.badRData, at: r.position, "RDATA of \(type) has trailing bytes") }
        return rd
    }

    /// Writes RDATA (without its length). Only the RFC 1035 types compress their names (RFC 3597 §4).
    /// A switch rather than `payload`: boxing a large payload would allocate on the answer path.
    public func write(to w: inout WireWriter) {
        switch self {
        case .a(let v): v.write(to: &w, compress: false)
        case .aaaa(let v): v.write(to: &w, compress: false)
        case .ns(let v), .cname(let v), .ptr(let v): v.write(to: &w, compress: true)
        case .dname(let v): v.write(to: &w, compress: false)
        case .soa(let v): v.write(to: &w, compress: true)
        case .mx(let v): v.write(to: &w, compress: true)
        case .txt(let v): v.write(to: &w, compress: false)
        case .hinfo(let v): v.write(to: &w, compress: false)
        case .srv(let v): v.write(to: &w, compress: false)
        case .naptr(let v): v.write(to: &w, compress: false)
        case .caa(let v): v.write(to: &w, compress: false)
        case .sshfp(let v): v.write(to: &w, compress: false)
        case .tlsa(let v): v.write(to: &w, compress: false)
        case .svcb(let v), .https(let v): v.write(to: &w, compress: false)
        case .ds(let v), .cds(let v): v.write(to: &w, compress: false)
        case .dnskey(let v), .cdnskey(let v): v.write(to: &w, compress: false)
        case .rrsig(let v): v.write(to: &w, compress: false)
        case .nsec(let v): v.write(to: &w, compress: false)
        case .dhcid(let v): v.write(to: &w, compress: false)
        case .unknown(_, let b): w.append(b)
        }
    }

    /// Uncompressed wire form; with `canonical`, names lowercased for the types RFC 4034 §6.2 lists.
    public func wireBytes(canonical: Bool = false) -> [UInt8] {
        var w = WireWriter(capacity: 64)
        w.compressionEnabled = false
        write(to: &w, canonical: canonical)
        return w.bytes
    }

    /// `write(to:)`, in the canonical form with `canonical`: into a writer reused from record to record.
    public func write(to w: inout WireWriter, canonical: Bool) {
        if canonical { canonicalForm.write(to: &w) } else { write(to: &w) }
    }

    var canonicalForm: RData { payload.map { $0.canonical.rdata(type) } ?? self }

    /// Parses the RDATA part of a record in presentation format. `\#` generic RDATA (RFC 3597 §5) works for every type.
    public static func parse(type: RRType, tokens: [TextToken], origin: DNSName?) throws(PresentationError) -> RData {
        var c = TokenCursor(tokens: tokens, origin: origin)
        if let first = tokens.first, !first.quoted, first.bytes == Array("\\#".utf8) {
            return try parseGeneric(type: type, &c)
        }
        guard let kind = kind(of: type) else {
            throw PresentationError("type \(type) needs the generic form: \\# LENGTH HEX (RFC 3597)", token: 0)
        }
        let rd = try kind.init(parsing: &c).rdata(type)
        guard c.atEnd else { throw PresentationError("unexpected '\(tokens[c.index].text)' after \(type) RDATA", token: c.index) }
        return rd
    }

    static func parseGeneric(type: RRType, _ c: inout TokenCursor) throws(PresentationError) -> RData {
        _ = try c.next("\\#")
        let len = try c.int("RDATA length", UInt16.self)
        let bytes = try c.hexRest("generic RDATA", allowEmpty: len == 0)
        guard bytes.count == Int(len) else {
            throw PresentationError("generic RDATA length \(len) does not match the \(bytes.count) bytes given", token: 1)
        }
        // A known type in generic form is decoded into its typed form, so both spellings store the same thing.
        var r = WireReader(bytes)
        do {
            return try RData.read(type: type, from: &r, length: bytes.count)
        } catch {
            throw PresentationError("generic RDATA is not a valid \(type): \(error)", token: 2)
        }
    }

    /// RFC 3597 §5 generic form: `\# LENGTH HEX`.
    public var genericPresentation: String {
        let b = wireBytes()
        return b.isEmpty ? "\\# 0" : "\\# \(b.count) \(Hex.encode(b))"
    }

    /// Presentation text of the RDATA.
    public var presentation: String {
        guard let p = payload, p.hasTextForm else { return genericPresentation }
        return p.presentation
    }

    /// Names this RDATA points at that may deserve additional-section addresses (RFC 1035 §3.3.9, RFC 2782).
    public var additionalTarget: DNSName? {
        switch self {
        case .mx(let m): m.exchange
        case .srv(let s): s.target
        case .svcb(let s), .https(let s): s.target.isRoot ? nil : s.target
        default: nil
        }
    }

    public var soa: SOA? {
        if case .soa(let s) = self { return s }
        return nil
    }

    /// The target of a record that is only a name: NS, CNAME, PTR, DNAME.
    public var targetName: DNSName? {
        switch self {
        case .ns(let n), .cname(let n), .ptr(let n), .dname(let n): n
        default: nil
        }
    }

    /// A name-only record of `type` (NS, CNAME, PTR, DNAME); nil for other types.
    public static func pointing(_ type: RRType, to target: DNSName) -> RData? {
        switch type {
        case .ns: .ns(target)
        case .cname: .cname(target)
        case .ptr: .ptr(target)
        case .dname: .dname(target)
        default: nil
        }
    }
}

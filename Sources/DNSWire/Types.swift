/// Open code-point types: unknown values round-trip (RFC 3597), known ones have names.

public struct RRType: RawRepresentable, Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ v: UInt16) { self.rawValue = v }

    public static let a = RRType(1), ns = RRType(2), cname = RRType(5), soa = RRType(6), ptr = RRType(12)
    public static let hinfo = RRType(13), mx = RRType(15), txt = RRType(16), aaaa = RRType(28), srv = RRType(33)
    public static let naptr = RRType(35), dname = RRType(39), opt = RRType(41), ds = RRType(43), sshfp = RRType(44)
    public static let rrsig = RRType(46), nsec = RRType(47), dnskey = RRType(48), nsec3 = RRType(50)
    public static let nsec3param = RRType(51), tlsa = RRType(52), cds = RRType(59), cdnskey = RRType(60)
    public static let svcb = RRType(64), https = RRType(65), tsig = RRType(250), ixfr = RRType(251)
    public static let axfr = RRType(252), any = RRType(255), caa = RRType(257), dhcid = RRType(49)

    static let names: [(RRType, String)] = [
        (.a, "A"), (.ns, "NS"), (.cname, "CNAME"), (.soa, "SOA"), (.ptr, "PTR"), (.hinfo, "HINFO"), (.mx, "MX"),
        (.txt, "TXT"), (.aaaa, "AAAA"), (.srv, "SRV"), (.naptr, "NAPTR"), (.dname, "DNAME"), (.opt, "OPT"),
        (.ds, "DS"), (.sshfp, "SSHFP"), (.rrsig, "RRSIG"), (.nsec, "NSEC"), (.dnskey, "DNSKEY"), (.nsec3, "NSEC3"),
        (.nsec3param, "NSEC3PARAM"), (.tlsa, "TLSA"), (.cds, "CDS"), (.cdnskey, "CDNSKEY"), (.svcb, "SVCB"),
        (.https, "HTTPS"), (.tsig, "TSIG"), (.ixfr, "IXFR"), (.axfr, "AXFR"), (.any, "ANY"), (.caa, "CAA"), (.dhcid, "DHCID"),
    ]

    public var mnemonic: String? { Self.names.first { $0.0 == self }?.1 }

    public var description: String { mnemonic ?? "TYPE\(rawValue)" }

    /// Parses a mnemonic or the RFC 3597 `TYPEnnn` form, case-insensitively.
    public init?(text: String) { self.init(text: Array(text.utf8)) }

    /// The same from the bytes of a token: a zone file's million records make no String each.
    public init?(text b: [UInt8]) {
        if let hit = Self.nameBytes.first(where: { Mnemonic.equal(b, $0.1) }) {
            self = hit.0
        } else if let v = Mnemonic.number(b, prefix: Self.typePrefix) {
            self.rawValue = v
        } else {
            return nil
        }
    }

    static let nameBytes = names.map { ($0.0, Array($0.1.utf8)) }
    static let typePrefix = Array("TYPE".utf8)

    /// Meta and query-only types (RFC 6895 §3.1): never stored in a zone.
    public var isMetaOrQuery: Bool { (128...255).contains(rawValue) || rawValue == 41 || rawValue == 0 }

    public static func < (a: RRType, b: RRType) -> Bool { a.rawValue < b.rawValue }
}

public struct RRClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ v: UInt16) { self.rawValue = v }
    public static let `in` = RRClass(1), ch = RRClass(3), hs = RRClass(4), none = RRClass(254), any = RRClass(255)

    public var description: String {
        switch self {
        case .in: "IN"
        case .ch: "CH"
        case .hs: "HS"
        case .none: "NONE"
        case .any: "ANY"
        default: "CLASS\(rawValue)"
        }
    }

    public init?(text: String) { self.init(text: Array(text.utf8)) }

    /// The same from the bytes of a token (every record's first fields are tried as a class).
    public init?(text b: [UInt8]) {
        if let hit = Self.names.first(where: { Mnemonic.equal(b, $0.1) }) {
            self = hit.0
        } else if let v = Mnemonic.number(b, prefix: Self.classPrefix) {
            self.rawValue = v
        } else {
            return nil
        }
    }

    static let names: [(RRClass, [UInt8])] = [
        (.in, Array("IN".utf8)), (.ch, Array("CH".utf8)), (.hs, Array("HS".utf8)), (.none, Array("NONE".utf8)), (.any, Array("ANY".utf8)),
    ]
    static let classPrefix = Array("CLASS".utf8)
}

/// How type and class mnemonics are read: ASCII case-insensitively (they are ASCII; a Unicode upper-casing would
/// also take "ſoa" for SOA), and the RFC 3597 forms TYPEnnn / CLASSnnn with decimal digits only.
enum Mnemonic {
    /// `b` equals `upper` (ASCII, upper case) ignoring ASCII case.
    @inline(__always) static func equal(_ b: [UInt8], _ upper: [UInt8]) -> Bool {
        b.count == upper.count && startsWith(b, upper)
    }

    @inline(__always) static func startsWith(_ b: [UInt8], _ upper: [UInt8]) -> Bool {
        guard b.count >= upper.count else { return false }
        for i in upper.indices {
            let c = b[i]
            if (c &- 0x61 < 26 ? c & 0xDF : c) != upper[i] { return false }
        }
        return true
    }

    /// The number after `prefix` (ASCII upper case, matched ignoring case): 1 to 5 digits, at most 65535.
    static func number(_ b: [UInt8], prefix: [UInt8]) -> UInt16? {
        guard b.count > prefix.count, b.count <= prefix.count + 5, startsWith(b, prefix) else { return nil }
        var v: UInt32 = 0
        for d in b[prefix.count...] {
            guard d &- 0x30 < 10 else { return nil }
            v = v * 10 + UInt32(d - 0x30)
        }
        return v <= 0xFFFF ? UInt16(v) : nil
    }
}

public struct Opcode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }
    public static let query = Opcode(rawValue: 0), iquery = Opcode(rawValue: 1), status = Opcode(rawValue: 2)
    public static let notify = Opcode(rawValue: 4), update = Opcode(rawValue: 5)
    public var description: String {
        switch rawValue {
        case 0: "QUERY"
        case 1: "IQUERY"
        case 2: "STATUS"
        case 4: "NOTIFY"
        case 5: "UPDATE"
        default: "OPCODE\(rawValue)"
        }
    }
}

/// A full 12-bit RCODE: the low 4 bits travel in the header, the high 8 in the OPT record (RFC 6891 §6.1.3).
public struct RCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue & 0x0FFF }
    public static let noError = RCode(rawValue: 0), formErr = RCode(rawValue: 1), servFail = RCode(rawValue: 2)
    public static let nxDomain = RCode(rawValue: 3), notImp = RCode(rawValue: 4), refused = RCode(rawValue: 5)
    public static let notAuth = RCode(rawValue: 9), badVers = RCode(rawValue: 16)
    /// RFC 2136 §2.2: the UPDATE answers.
    public static let yxDomain = RCode(rawValue: 6), yxRRSet = RCode(rawValue: 7), nxRRSet = RCode(rawValue: 8), notZone = RCode(rawValue: 10)
    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 6: "YXDOMAIN"
        case 7: "YXRRSET"
        case 8: "NXRRSET"
        case 9: "NOTAUTH"
        case 10: "NOTZONE"
        case 16: "BADVERS"
        default: "RCODE\(rawValue)"
        }
    }
}

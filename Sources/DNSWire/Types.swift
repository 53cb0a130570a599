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
    public static let axfr = RRType(252), any = RRType(255), caa = RRType(257)

    static let names: [(RRType, String)] = [
        (.a, "A"), (.ns, "NS"), (.cname, "CNAME"), (.soa, "SOA"), (.ptr, "PTR"), (.hinfo, "HINFO"), (.mx, "MX"),
        (.txt, "TXT"), (.aaaa, "AAAA"), (.srv, "SRV"), (.naptr, "NAPTR"), (.dname, "DNAME"), (.opt, "OPT"),
        (.ds, "DS"), (.sshfp, "SSHFP"), (.rrsig, "RRSIG"), (.nsec, "NSEC"), (.dnskey, "DNSKEY"), (.nsec3, "NSEC3"),
        (.nsec3param, "NSEC3PARAM"), (.tlsa, "TLSA"), (.cds, "CDS"), (.cdnskey, "CDNSKEY"), (.svcb, "SVCB"),
        (.https, "HTTPS"), (.tsig, "TSIG"), (.ixfr, "IXFR"), (.axfr, "AXFR"), (.any, "ANY"), (.caa, "CAA"),
    ]

    public var mnemonic: String? { Self.names.first { $0.0 == self }?.1 }

    public var description: String { mnemonic ?? "TYPE\(rawValue)" }

    /// Parses a mnemonic or the RFC 3597 `TYPEnnn` form, case-insensitively.
    public init?(text: String) {
        let up = text.uppercased()
        if let hit = Self.names.first(where: { $0.1 == up }) {
            self = hit.0
        } else if up.hasPrefix("TYPE"), let v = UInt16(up.dropFirst(4)), !up.dropFirst(4).hasPrefix("+") {
            self.rawValue = v
        } else {
            return nil
        }
    }

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

    public init?(text: String) {
        switch text.uppercased() {
        case "IN": self = .in
        case "CH": self = .ch
        case "HS": self = .hs
        case "NONE": self = .none
        case "ANY": self = .any
        case let up where up.hasPrefix("CLASS"):
            guard let v = UInt16(up.dropFirst(5)), !up.dropFirst(5).hasPrefix("+") else { return nil }
            self.rawValue = v
        default: return nil
        }
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
    public var description: String {
        switch rawValue {
        case 0: "NOERROR"
        case 1: "FORMERR"
        case 2: "SERVFAIL"
        case 3: "NXDOMAIN"
        case 4: "NOTIMP"
        case 5: "REFUSED"
        case 9: "NOTAUTH"
        case 16: "BADVERS"
        default: "RCODE\(rawValue)"
        }
    }
}

/// The fixed 12-byte header (RFC 1035 §4.1.1). Flag bits are kept raw so unknown ones survive a round trip.
public struct Header: Sendable, Equatable {
    public var id: UInt16 = 0
    public var flags: UInt16 = 0
    public var qdCount: UInt16 = 0, anCount: UInt16 = 0, nsCount: UInt16 = 0, arCount: UInt16 = 0

    public init(id: UInt16 = 0, flags: UInt16 = 0) {
        self.id = id
        self.flags = flags
    }

    @inline(__always) func bit(_ b: UInt16) -> Bool { flags & b != 0 }
    @inline(__always) mutating func set(_ b: UInt16, _ on: Bool) { flags = on ? flags | b : flags & ~b }

    public var qr: Bool { get { bit(0x8000) } set { set(0x8000, newValue) } }
    public var opcode: Opcode {
        get { Opcode(rawValue: UInt8(flags >> 11 & 0xF)) }
        set { flags = flags & ~0x7800 | UInt16(newValue.rawValue) << 11 }
    }
    public var aa: Bool { get { bit(0x0400) } set { set(0x0400, newValue) } }
    public var tc: Bool { get { bit(0x0200) } set { set(0x0200, newValue) } }
    public var rd: Bool { get { bit(0x0100) } set { set(0x0100, newValue) } }
    public var ra: Bool { get { bit(0x0080) } set { set(0x0080, newValue) } }
    public var z: Bool { get { bit(0x0040) } set { set(0x0040, newValue) } }
    public var ad: Bool { get { bit(0x0020) } set { set(0x0020, newValue) } }
    public var cd: Bool { get { bit(0x0010) } set { set(0x0010, newValue) } }
    /// The low four RCODE bits carried in the header.
    public var rcodeLow: UInt8 {
        get { UInt8(flags & 0xF) }
        set { flags = flags & ~0xF | UInt16(newValue & 0xF) }
    }
}

public struct Question: Sendable, Hashable {
    public var name: DNSName
    public var type: RRType
    public var qclass: RRClass
    public init(name: DNSName, type: RRType, qclass: RRClass = .in) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }
}

public struct ResourceRecord: Sendable, Hashable, CustomStringConvertible {
    public var name: DNSName
    public var type: RRType
    public var rrclass: RRClass
    public var ttl: UInt32
    public var rdata: RData

    public init(name: DNSName, type: RRType, rrclass: RRClass = .in, ttl: UInt32, rdata: RData) {
        self.name = name
        self.type = type
        self.rrclass = rrclass
        self.ttl = ttl
        self.rdata = rdata
    }

    /// One line of master-file text: `name ttl class type rdata`.
    public var description: String { "\(name) \(ttl) \(rrclass) \(type) \(rdata.presentation)" }
}

public struct EDNSOption: Sendable, Hashable {
    public var code: UInt16
    public var data: [UInt8]
    public init(code: UInt16, data: [UInt8]) {
        self.code = code
        self.data = data
    }

    public static let cookie: UInt16 = 10, extendedError: UInt16 = 15, padding: UInt16 = 12, nsid: UInt16 = 3

    /// An Extended DNS Error option (RFC 8914 §2): INFO-CODE and optional UTF-8 EXTRA-TEXT.
    public static func extendedError(_ code: ExtendedErrorCode, _ text: String = "") -> EDNSOption {
        EDNSOption(code: extendedError, data: [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)] + Array(text.utf8))
    }
}

/// RFC 8914 §4 INFO-CODEs.
public struct ExtendedErrorCode: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let other = Self(rawValue: 0), staleAnswer = Self(rawValue: 3), forgedAnswer = Self(rawValue: 4)
    public static let blocked = Self(rawValue: 15), censored = Self(rawValue: 16), prohibited = Self(rawValue: 18)
    public static let notAuthoritative = Self(rawValue: 20), notSupported = Self(rawValue: 21)
    public static let noReachableAuthority = Self(rawValue: 22), networkError = Self(rawValue: 23)
    public static let invalidData = Self(rawValue: 24), notReady = Self(rawValue: 14)
}

/// The OPT pseudo-record (RFC 6891 §6.1).
public struct EDNS: Sendable, Hashable {
    public var udpPayloadSize: UInt16
    public var extendedRCode: UInt8 = 0
    public var version: UInt8 = 0
    /// The 16 flag bits of the OPT TTL field; bit 15 is DO.
    public var flags: UInt16 = 0
    public var options: [EDNSOption] = []

    public init(udpPayloadSize: UInt16 = 1232, dnssecOK: Bool = false, options: [EDNSOption] = []) {
        self.udpPayloadSize = udpPayloadSize
        self.flags = dnssecOK ? 0x8000 : 0
        self.options = options
    }

    public var dnssecOK: Bool {
        get { flags & 0x8000 != 0 }
        set { flags = newValue ? flags | 0x8000 : flags & ~0x8000 }
    }

    /// Extended DNS Errors carried in the options.
    public var extendedErrors: [(code: ExtendedErrorCode, text: String)] {
        options.filter { $0.code == EDNSOption.extendedError && $0.data.count >= 2 }.map {
            (ExtendedErrorCode(rawValue: UInt16($0.data[0]) << 8 | UInt16($0.data[1])), String(decoding: $0.data.dropFirst(2), as: UTF8.self))
        }
    }

    /// Bytes the OPT record occupies on the wire.
    public var wireSize: Int { 11 + options.reduce(0) { $0 + 4 + $1.data.count } }
}

public struct Message: Sendable, Equatable {
    public var header: Header
    public var questions: [Question] = []
    public var answers: [ResourceRecord] = []
    public var authority: [ResourceRecord] = []
    /// Additional records other than OPT, which lives in `edns`.
    public var additional: [ResourceRecord] = []
    public var edns: EDNS?

    public init(header: Header = Header(), questions: [Question] = [], answers: [ResourceRecord] = [],
                authority: [ResourceRecord] = [], additional: [ResourceRecord] = [], edns: EDNS? = nil) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
        self.edns = edns
    }

    /// The full RCODE: header bits plus the OPT record's upper bits.
    public var rcode: RCode {
        get { RCode(rawValue: UInt16(edns?.extendedRCode ?? 0) << 4 | UInt16(header.rcodeLow)) }
        set {
            header.rcodeLow = UInt8(newValue.rawValue & 0xF)
            if newValue.rawValue > 15 {
                if edns == nil { edns = EDNS() }
                edns?.extendedRCode = UInt8(newValue.rawValue >> 4)
            } else {
                edns?.extendedRCode = 0
            }
        }
    }

    /// A query for one question, the way a stub would send it.
    public static func query(_ name: DNSName, _ type: RRType, id: UInt16 = 0, recursionDesired: Bool = true, edns: EDNS? = EDNS()) -> Message {
        var h = Header(id: id)
        h.rd = recursionDesired
        return Message(header: h, questions: [Question(name: name, type: type)], edns: edns)
    }
}

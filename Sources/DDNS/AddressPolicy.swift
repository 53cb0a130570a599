import DNSWire

public enum AddressFamily: String, Sendable, CaseIterable {
    case v4, v6
}

/// A detected WAN address, already checked to be usable.
public enum WANAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    public var family: AddressFamily {
        switch self {
        case .v4: .v4
        case .v6: .v6
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }
}

/// Why an address was refused as the WAN address.
public struct AddressRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var address: String
    public var reason: String
    /// The address as received is untrusted text (an echo service's body): control characters and quotes
    /// are escaped, so it can neither forge log lines nor move the terminal's cursor.
    public var description: String { "\"\(Self.printable(address))\" is not a usable WAN address: \(reason)" }

    static func printable(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u.value {
            case 0x20..<0x7F where u != "\"" && u != "\\": out.unicodeScalars.append(u)
            case 0xA0...: out.unicodeScalars.append(u)
            default:
                let h = String(u.value, radix: 16)
                out += "\\x" + (h.count == 1 ? "0" + h : h)
            }
        }
        return out
    }
}

/// Decides whether an address may be published: a global unicast address of the family asked for.
/// Private, CGNAT, loopback, link-local, multicast, documentation, benchmarking, reserved, IPv4-mapped and
/// ULA addresses are refused unless `allowNonGlobal` (a lab that tests against a private upstream).
public struct AddressPolicy: Sendable {
    public var allowNonGlobal: Bool
    public init(allowNonGlobal: Bool = false) { self.allowNonGlobal = allowNonGlobal }

    static let v4Blocks: [(UInt32, Int, String)] = [
        (0x0000_0000, 8, "\"this network\" (0.0.0.0/8)"), (0x0A00_0000, 8, "private (RFC 1918)"),
        (0x6440_0000, 10, "CGNAT shared space (RFC 6598): the router is behind the ISP's NAT"),
        (0x7F00_0000, 8, "loopback"), (0xA9FE_0000, 16, "link-local"), (0xAC10_0000, 12, "private (RFC 1918)"),
        (0xC000_0000, 24, "IETF protocol assignments"), (0xC000_0200, 24, "documentation (TEST-NET-1)"),
        (0xC0A8_0000, 16, "private (RFC 1918)"), (0xC612_0000, 15, "benchmarking (RFC 2544)"),
        (0xC633_6400, 24, "documentation (TEST-NET-2)"), (0xCB00_7100, 24, "documentation (TEST-NET-3)"),
        (0xE000_0000, 4, "multicast"), (0xF000_0000, 4, "reserved"),
    ]

    public func check(_ text: String, family: AddressFamily) throws(AddressRejection) -> WANAddress {
        let t = text.trimmingSpaces
        switch family {
        case .v4:
            guard let a = IPv4Address(t) else { throw AddressRejection(address: t, reason: "not an IPv4 address") }
            if !allowNonGlobal {
                for (net, len, why) in Self.v4Blocks where a.value >> UInt32(32 - len) == net >> UInt32(32 - len) {
                    throw AddressRejection(address: t, reason: why)
                }
            }
            return .v4(a)
        case .v6:
            guard let a = IPv6Address(t) else { throw AddressRejection(address: t, reason: "not an IPv6 address") }
            if !allowNonGlobal, let why = Self.v6Reason(a) { throw AddressRejection(address: t, reason: why) }
            return .v6(a)
        }
    }

    /// Global unicast is 2000::/3 minus the special blocks inside it.
    static func v6Reason(_ a: IPv6Address) -> String? {
        let b = a.bytes
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return "IPv4-mapped" }
        if b.allSatisfy({ $0 == 0 }) { return "unspecified" }
        if b[0..<15].allSatisfy({ $0 == 0 }) && b[15] == 1 { return "loopback" }
        if b[0] & 0xFE == 0xFC { return "unique local (ULA, fc00::/7)" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "link-local" }
        if b[0] == 0xFF { return "multicast" }
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8 { return "documentation (2001:db8::/32)" }
        if b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00 { return "Teredo (2001::/32)" }
        if b[0] == 0x20 && b[1] == 0x02 { return "6to4 (2002::/16)" }
        if b[0] & 0xE0 != 0x20 { return "not global unicast (outside 2000::/3)" }
        return nil
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

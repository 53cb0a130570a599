import DNSWire

/// Parsers for what the detection methods get back. Pure: the HTTP and DNS fetching lives elsewhere.
public enum Detection {
    /// Cloudflare's `/cdn-cgi/trace`: `key=value` lines. Takes `ip=`, and refuses the answer unless `h=` is
    /// the host we asked and `warp=off` (through WARP the address is Cloudflare's, not ours).
    public static func parseTrace(_ body: String, expectedHost: String) throws(AddressRejection) -> String {
        var fields: [String: String] = [:]
        for line in body.split(whereSeparator: { $0.isNewline }) {  // "\r\n" is one Character
            guard let eq = line.firstIndex(of: "=") else { continue }
            fields[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        guard let h = fields["h"] else { throw AddressRejection(address: "?", reason: "trace answer has no h= line") }
        guard h.lowercased() == expectedHost.lowercased() else {
            throw AddressRejection(address: fields["ip"] ?? "?", reason: "trace answer is for host \(h), not \(expectedHost) (a proxy in the way?)")
        }
        if let warp = fields["warp"], warp != "off" {
            throw AddressRejection(address: fields["ip"] ?? "?", reason: "warp=\(warp): the request went through Cloudflare WARP")
        }
        guard let ip = fields["ip"], !ip.isEmpty else { throw AddressRejection(address: "?", reason: "trace answer has no ip= line") }
        return ip
    }

    /// ipify-style echo: the body is the address and nothing else (whitespace aside).
    public static func parseEcho(_ body: String) throws(AddressRejection) -> String {
        let t = body.trimmingSpaces
        guard !t.isEmpty, t.count <= 45, !t.contains(" "), !t.contains("\n"), !t.contains("<") else {
            throw AddressRejection(address: String(t.prefix(40)), reason: "echo answer is not a bare address")
        }
        return t
    }

    /// One line of /proc/net/if_inet6: address, interface index, prefix length, scope, flags, name.
    public struct InterfaceAddress: Sendable, Equatable {
        public var address: IPv6Address
        public var prefixLength: Int
        public var scope: Int
        public var flags: Int
        public var interface: String

        static let temporary = 0x01, deprecated = 0x20, tentative = 0x40, dadFailed = 0x08

        /// Stable: not a privacy (temporary) address, not deprecated, not still in DAD or failed it.
        public var isStable: Bool {
            flags & (Self.temporary | Self.deprecated | Self.tentative | Self.dadFailed) == 0
        }
    }

    public static func parseIfInet6(_ text: String) -> [InterfaceAddress] {
        var out: [InterfaceAddress] = []
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, f[0].count == 32 else { continue }
            var groups: [String] = []
            var hex = Substring(f[0])
            while !hex.isEmpty { groups.append(String(hex.prefix(4))); hex = hex.dropFirst(4) }
            guard let a = IPv6Address(groups.joined(separator: ":")),
                let plen = Int(f[2], radix: 16), let scope = Int(f[3], radix: 16), let flags = Int(f[4], radix: 16)
            else { continue }
            out.append(InterfaceAddress(address: a, prefixLength: plen, scope: scope, flags: flags, interface: String(f[5])))
        }
        return out
    }

    /// The WAN IPv6 address from an interface: stable global unicast only, on `interface` if given; the first
    /// such address in kernel order (the oldest).
    public static func pickInterfaceIPv6(_ addrs: [InterfaceAddress], interface: String?, policy: AddressPolicy) -> WANAddress? {
        for a in addrs where (interface == nil || a.interface == interface) && a.isStable && a.scope == 0 {
            if AddressPolicy.v6Reason(a.address) == nil || policy.allowNonGlobal { return .v6(a.address) }
        }
        return nil
    }
}

/// Namecheap's dynamic-DNS answer: HTTP 200 with XML (`<interface-response>`, declared utf-16 but ASCII).
/// Success only when ErrCount is 0; every ErrN text goes into the error.
public struct NamecheapResponse: Sendable, Equatable {
    public var errCount: Int
    public var errors: [String]
    public var ip: String?

    public static func parse(_ body: String) throws(NamecheapError) -> NamecheapResponse {
        guard body.byteRange(of: "<interface-response") != nil else { throw NamecheapError(message: "not a Namecheap interface-response (got \(body.prefix(60).debugDescription))") }
        guard let countText = element("ErrCount", in: body), let count = Int(countText) else {
            throw NamecheapError(message: "Namecheap answer has no ErrCount")
        }
        var errors: [String] = []
        if let errs = element("errors", in: body) {
            var n = 1
            while let e = element("Err\(n)", in: errs) {
                errors.append(e)
                n += 1
            }
        }
        return NamecheapResponse(errCount: count, errors: errors, ip: element("IP", in: body))
    }

    /// The text of the first `<name>…</name>` (entities for &, <, > and quotes decoded).
    static func element(_ name: String, in s: String) -> String? {
        guard let open = s.byteRange(of: "<\(name)>"), let close = s.byteRange(of: "</\(name)>", from: open.upperBound) else { return nil }
        let bytes = Array(s.utf8)
        return String(decoding: bytes[open.upperBound..<close.lowerBound], as: UTF8.self)
            .replacingAll("&lt;", "<").replacingAll("&gt;", ">").replacingAll("&quot;", "\"").replacingAll("&apos;", "'").replacingAll("&amp;", "&")
            .trimmingSpaces
    }
}

public struct NamecheapError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension String {
    /// Byte offsets of the first `needle` at or after `from` (no Foundation here).
    func byteRange(of needle: String, from: Int = 0) -> Range<Int>? {
        let h = Array(utf8), n = Array(needle.utf8)
        guard !n.isEmpty, h.count >= n.count, from <= h.count - n.count else { return nil }
        var i = from
        while i <= h.count - n.count {
            if h[i] == n[0] && Array(h[i..<(i + n.count)]) == n { return i..<(i + n.count) }
            i += 1
        }
        return nil
    }

    func replacingAll(_ a: String, _ b: String) -> String {
        var out: [UInt8] = []
        let h = Array(utf8), n = Array(a.utf8), r = Array(b.utf8)
        var i = 0
        while i < h.count {
            if !n.isEmpty, i + n.count <= h.count, Array(h[i..<(i + n.count)]) == n {
                out += r
                i += n.count
            } else {
                out.append(h[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// An IP address and a port as configs write them: "192.0.2.1:53", "[2001:db8::1]:53", and where a default
/// port applies also a bare "192.0.2.1" or "2001:db8::1", and dnsmasq's "192.0.2.1#5353". The one parser for
/// listen addresses, upstream servers, the metrics endpoint and imported dnsmasq servers.
public struct HostPort: Sendable, Hashable {
    public var host: String
    public var port: UInt16
    public var isIPv6: Bool

    /// - Parameters:
    ///   - defaultPort: the port when none is written (nil: a port is required).
    ///   - hashPort: accept dnsmasq's `IP#PORT`.
    public init?(_ text: String, defaultPort: UInt16? = nil, hashPort: Bool = false) {
        var t = Substring(text)
        var port = defaultPort
        if hashPort, let hash = t.lastIndex(of: "#") {
            guard let p = UInt16(t[t.index(after: hash)...]) else { return nil }
            port = p
            t = t[..<hash]
        }
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { return nil }
            let rest = t[t.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()) else { return nil }
                port = p
            }
            t = t[t.index(after: t.startIndex)..<close]
            guard IPv6Address(String(t)) != nil else { return nil }
            isIPv6 = true
        } else if IPv6Address(String(t)) != nil {
            isIPv6 = true
        } else {
            let parts = t.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2, IPv4Address(String(parts[0])) != nil else { return nil }
            if parts.count == 2 {
                guard let p = UInt16(parts[1]) else { return nil }
                port = p
            }
            t = parts[0]
            isIPv6 = false
        }
        guard let port else { return nil }
        host = String(t)
        self.port = port
    }

    /// "192.0.2.1:53" or "[2001:db8::1]:53".
    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

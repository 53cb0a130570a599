#if canImport(Glibc)
import Glibc
#endif
import DNSForward
import ConfigFormat
import DNSWire

/// An address prefix for ACLs: "192.168.0.0/16", "fc00::/7", "127.0.0.1".
public struct IPPrefix: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]  // 4 or 16
    public var length: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2 else { return nil }
        let addr = String(parts[0])
        if let v4 = IPv4Address(addr) {
            bytes = v4.bytes
        } else if let v6 = IPv6Address(addr) {
            bytes = v6.bytes
        } else {
            return nil
        }
        if parts.count == 2 {
            guard let l = Int(parts[1]), l >= 0, l <= bytes.count * 8 else { return nil }
            length = l
        } else {
            length = bytes.count * 8
        }
    }

    /// True when `address` (4 or 16 bytes; IPv4-mapped IPv6 is matched as IPv4) lies inside the prefix.
    /// The query path uses `PrefixMatcher`; this is the same test, for one prefix.
    public func contains(_ address: [UInt8]) -> Bool { PrefixMatcher([self]).contains(IPBits(bytes: address)) }
    /// True when every address of `other` is in this prefix.
    public func covers(_ other: IPPrefix) -> Bool { bytes.count == other.bytes.count && length <= other.length && contains(other.bytes) }

    public var description: String {
        let a = bytes.count == 4 ? IPv4Address(bytes[0], bytes[1], bytes[2], bytes[3]).description : IPv6Address(bytes: bytes).description
        return "\(a)/\(length)"
    }

    /// Loopback, RFC 1918, RFC 6598 (CGNAT), link-local, ULA: who may use recursion by default.
    public static let localDefaults: [IPPrefix] = [
        "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
        "::1/128", "fc00::/7", "fe80::/10",
    ].compactMap(IPPrefix.init)
}

/// A forward zone: names at or below `name` go to `servers` (longest match wins).
public struct ForwardZoneConfig: Sendable, Equatable {
    public var name: DNSName
    public var servers: [UpstreamServer]
    /// Cache answers from this zone at all (Consul's TTL-0 answers: hold them `minTTL` or not at all).
    public var cache: Bool
    public var minTTL: UInt32
    /// Serve stale answers from this zone when its servers fail (off for consul., where stale would hurt).
    public var serveStale: Bool
}

/// The resolver part of the configuration (dnsmasq's server=, no-resolv, domain-needed, bogus-priv,
/// local-service, cache-size).
public struct ResolverConfig: Sendable, Equatable {
    /// [resolver] upstreams: the default forward zone "."; empty = names outside our zones are REFUSED.
    public var upstreams: [UpstreamServer] = []
    /// [forward."NAME"] zones, most specific first after sorting.
    public var zones: [ForwardZoneConfig] = []
    /// [resolver] allow_recursion: client prefixes that get recursion; others get REFUSED (dnsmasq local-service).
    public var allowRecursion: [IPPrefix] = IPPrefix.localDefaults
    /// [resolver] domain_needed: single-label names are never sent upstream.
    public var domainNeeded = true
    /// [resolver] bogus_priv: reverse lookups of private ranges never go to the default upstreams.
    public var bogusPriv = true
    /// [resolver] cache_size: answers held at most (dnsmasq cache-size); [resolver] cache_max_bytes bounds memory.
    public var cacheSize = 65_536
    public var cacheMaxBytes = 64 << 20
    public var cacheMinTTL: UInt32 = 0
    public var cacheMaxTTL: UInt32 = 86_400
    public var negativeMaxTTL: UInt32 = 3_600
    /// [resolver] stale_window: seconds an expired answer may still be served when every upstream fails.
    public var staleWindow: UInt32 = 86_400
    public var tryTimeoutMs = 400
    public var deadlineMs = 1500
    /// A server nobody asked for this long gets a health probe; 0 = no probes (not even at start).
    public var probeIntervalMs = 15_000
    /// [resolver] max_in_flight_per_server: questions in flight to one server at most; a server at its bound
    /// is passed over for the next (a stalled server cannot take the others' share).
    public var maxInFlightPerServer = 256
    /// [resolver] hedge: a question a server is slower than usual to answer also goes to the next server.
    public var hedge = true

    public init() {}

    public var enabled: Bool { !upstreams.isEmpty || !zones.isEmpty }
}

extension ServerConfig {
    static let resolverKeys: Set<String> = [
        "resolver.upstreams", "resolver.allow_recursion", "resolver.domain_needed", "resolver.bogus_priv",
        "resolver.cache_size", "resolver.cache_max_bytes", "resolver.cache_min_ttl", "resolver.cache_max_ttl",
        "resolver.negative_max_ttl", "resolver.stale_window", "resolver.try_timeout_ms", "resolver.deadline_ms", "resolver.probe_interval_ms", "resolver.max_in_flight_per_server", "resolver.hedge",
    ]

    /// Reads `[resolver]` and every `[forward."zone."]` table: `servers = [...]`, `cache = true`,
    /// `min_ttl = 0`, `serve_stale = true`.
    static func parseResolver(_ doc: TOMLDocument, file: String) throws(ConfigError) -> ResolverConfig {
        var r = ResolverConfig()
        func line(_ k: String) -> Int { doc.values[k]?.1 ?? 0 }
        func servers(_ key: String) throws(ConfigError) -> [UpstreamServer]? {
            guard let (v, l) = doc.values[key] else { return nil }
            guard case .array(let items) = v else { throw ConfigError("\(file):\(l): '\(key)' must be an array of \"IP\", \"IP:PORT\" or \"IP#PORT\"") }
            var out: [UpstreamServer] = []
            for i in items {
                guard case .string(let s) = i, let u = UpstreamServer(s) else {
                    throw ConfigError("\(file):\(l): bad server \(i) in '\(key)'; use \"8.8.8.8\", \"192.168.10.120#8600\" or \"[::1]:53\"")
                }
                out.append(u)
            }
            return out
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int? {
            do { return try doc.integer(key, in: range) } catch { throw ConfigError(file: file, error) }
        }
        func bool(_ key: String) throws(ConfigError) -> Bool? {
            do { return try doc.boolean(key) } catch { throw ConfigError(file: file, error) }
        }
        if let s = try servers("resolver.upstreams") { r.upstreams = s }
        if let p = try prefixes(doc, "resolver.allow_recursion", file: file) { r.allowRecursion = p }
        if let b = try bool("resolver.domain_needed") { r.domainNeeded = b }
        if let b = try bool("resolver.bogus_priv") { r.bogusPriv = b }
        if let v = try int("resolver.cache_size", 0...10_000_000) { r.cacheSize = v }
        if let v = try int("resolver.cache_max_bytes", 4096...(4 << 30)) { r.cacheMaxBytes = v }
        if let v = try int("resolver.cache_min_ttl", 0...86_400) { r.cacheMinTTL = UInt32(v) }
        if let v = try int("resolver.cache_max_ttl", 0...604_800) { r.cacheMaxTTL = UInt32(v) }
        if let v = try int("resolver.negative_max_ttl", 0...86_400) { r.negativeMaxTTL = UInt32(v) }
        if let v = try int("resolver.stale_window", 0...604_800) { r.staleWindow = UInt32(v) }
        if let v = try int("resolver.try_timeout_ms", 50...10_000) { r.tryTimeoutMs = v }
        if let v = try int("resolver.deadline_ms", 100...30_000) { r.deadlineMs = v }
        if let v = try int("resolver.probe_interval_ms", 0...3_600_000) { r.probeIntervalMs = v }
        if let v = try int("resolver.max_in_flight_per_server", 1...65_535) { r.maxInFlightPerServer = v }
        if let b = try bool("resolver.hedge") { r.hedge = b }
        if r.deadlineMs < r.tryTimeoutMs {
            let at = doc.values["resolver.deadline_ms"]?.1 ?? doc.values["resolver.try_timeout_ms"]?.1 ?? 0
            throw ConfigError("\(file):\(at): resolver.deadline_ms (\(r.deadlineMs)) is below try_timeout_ms (\(r.tryTimeoutMs)): no server would get one whole try; raise deadline_ms")
        }

        // [forward."consul."] tables: keys arrive as forward."consul.".servers and so on.
        for z in doc.quotedSubtables(of: "forward") {
            let prefix = "forward.\"\(z)\"."
            for key in doc.values.keys where key.hasPrefix(prefix) {
                let field = key.dropFirst(prefix.count)
                guard ["servers", "cache", "min_ttl", "serve_stale"].contains(String(field)) else {
                    throw ConfigError("\(file):\(line(key)): " + TOMLDocument.unknownKeyMessage("forward.\(field)", known: ["forward.servers", "forward.cache", "forward.min_ttl", "forward.serve_stale"],
                                                   table: "[forward.\"\(z)\"]"))
                }
            }
            guard let name = try? DNSName(z.hasSuffix(".") ? z : z + ".") else {
                throw ConfigError("\(file):\(line(prefix + "servers")): bad zone name '\(z)' in [forward.\"\(z)\"]")
            }
            guard let s = try servers(prefix + "servers"), !s.isEmpty else {
                let at = doc.tables["forward.\"\(z)\""] ?? doc.values.filter { $0.key.hasPrefix(prefix) }.map(\.value.1).min() ?? 0
                throw ConfigError("\(file):\(at): [forward.\"\(z)\"] needs servers = [\"IP#PORT\", ...]")
            }
            r.zones.append(ForwardZoneConfig(
                name: name, servers: s, cache: try bool(prefix + "cache") ?? true,
                minTTL: UInt32(try int(prefix + "min_ttl", 0...86_400) ?? 0), serveStale: try bool(prefix + "serve_stale") ?? true))
        }
        return r
    }
}

/// A list of address prefixes under `key` (nil when absent); errors give the line, the key and the form.
func prefixes(_ doc: TOMLDocument, _ key: String, file: String) throws(ConfigError) -> [IPPrefix]? {
    guard let (v, line) = doc.values[key] else { return nil }
    guard case .array(let items) = v else { throw ConfigError("\(file):\(line): '\(key)' must be an array of prefixes") }
    var out: [IPPrefix] = []
    for i in items {
        guard case .string(let s) = i, let p = IPPrefix(s) else {
            throw ConfigError("\(file):\(line): bad prefix \(i) in '\(key)'; use \"192.168.10.0/24\" or \"fd00::/8\"")
        }
        out.append(p)
    }
    return out
}

/// A client address as 128 bits (IPv4 as ::ffff:a.b.c.d), read straight from a sockaddr: ACL and rate-limit
/// checks on the query path compare integers and allocate nothing.
package struct IPBits: Sendable, Equatable {
    var hi: UInt64
    var lo: UInt64

    init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    init(_ p: UnsafeRawPointer) {
        let family = p.load(as: sa_family_t.self)
        if family == sa_family_t(AF_INET6) {
            var h: UInt64 = 0, l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(p.load(fromByteOffset: 8 + i, as: UInt8.self)) }
            for i in 8..<16 { l = l << 8 | UInt64(p.load(fromByteOffset: 8 + i, as: UInt8.self)) }
            hi = h
            lo = l
        } else {
            var v: UInt64 = 0
            for i in 0..<4 { v = v << 8 | UInt64(p.load(fromByteOffset: 4 + i, as: UInt8.self)) }
            hi = 0
            lo = 0xFFFF_0000_0000 | v
        }
    }

    /// From 4 bytes (IPv4, stored mapped) or 16 (IPv6); anything else is the unspecified address.
    init(bytes b: [UInt8]) {
        if b.count == 4 {
            hi = 0
            lo = 0xFFFF_0000_0000 | UInt64(b[0]) << 24 | UInt64(b[1]) << 16 | UInt64(b[2]) << 8 | UInt64(b[3])
        } else if b.count == 16 {
            var h: UInt64 = 0, l: UInt64 = 0
            for i in 0..<8 { h = h << 8 | UInt64(b[i]) }
            for i in 8..<16 { l = l << 8 | UInt64(b[i]) }
            hi = h
            lo = l
        } else {
            hi = 0
            lo = 0
        }
    }

    var isV4: Bool { hi == 0 && lo >> 32 == 0xFFFF }

    /// The address as text, for logs: "192.168.10.7", "fd00::7".
    var text: String {
        let b = bytes
        return b.count == 4 ? IPv4Address(b[0], b[1], b[2], b[3]).description : IPv6Address(bytes: b).description
    }

    /// 4 bytes for IPv4 (mapped included), else 16.
    var bytes: [UInt8] {
        if isV4 { return (0..<4).map { UInt8(truncatingIfNeeded: lo >> (24 - 8 * $0)) } }
        return (0..<8).map { UInt8(truncatingIfNeeded: hi >> (56 - 8 * $0)) } + (0..<8).map { UInt8(truncatingIfNeeded: lo >> (56 - 8 * $0)) }
    }
}

/// A list of prefixes compiled to 128-bit masks.
struct PrefixMatcher: Sendable {
    struct Entry: Sendable { var hi, lo, maskHi, maskLo: UInt64 }
    let entries: [Entry]

    init(_ prefixes: [IPPrefix]) {
        entries = prefixes.map { p in
            var bytes = p.bytes
            var bits = p.length
            if bytes.count == 4 {
                bytes = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + bytes
                bits += 96
            }
            var hi: UInt64 = 0, lo: UInt64 = 0
            for i in 0..<8 { hi = hi << 8 | UInt64(bytes[i]) }
            for i in 8..<16 { lo = lo << 8 | UInt64(bytes[i]) }
            let mh: UInt64 = bits >= 64 ? ~0 : bits == 0 ? 0 : ~0 << (64 - bits)
            let ml: UInt64 = bits >= 128 ? ~0 : bits <= 64 ? 0 : ~0 << (128 - bits)
            return Entry(hi: hi & mh, lo: lo & ml, maskHi: mh, maskLo: ml)
        }
    }

    @inline(__always) func contains(_ a: IPBits) -> Bool {
        for e in entries where a.hi & e.maskHi == e.hi && a.lo & e.maskLo == e.lo { return true }
        return false
    }
}

/// A socket address to listen on: "127.0.0.1:5300" or "[::1]:5300".
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Family: Sendable { case v4, v6 }
    public var host: String
    public var port: UInt16
    public var family: Family

    public init?(_ text: String) {
        guard let hp = HostPort(text) else { return nil }
        host = hp.host
        port = hp.port
        family = hp.isIPv6 ? .v6 : .v4
    }

    public var description: String { family == .v6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

import ConfigFormat
import DNSStore
import DNSWire

public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    /// A TOML error at `file:line`.
    init(file: String, _ e: TOMLError) { message = "\(file):\(e.line): \(e.message)" }
    public var description: String { message }
}

/// Everything `jamdns` can be told. Defaults are the embedded configuration: loopback, port 5300, a store in
/// the working directory seeded from `zones/`.
public struct ServerConfig: Sendable {
    public static let defaultPort: UInt16 = 5300

    /// [server] listen: addresses for UDP and TCP.
    public var listen: [ListenAddress] = [ListenAddress("127.0.0.1:5300")!, ListenAddress("[::1]:5300")!]
    /// Whether `listen` came from the user (then every address must bind) or is the default (::1 may be absent).
    public var listenExplicit = false
    /// [server] udp_workers: UDP threads per address, each with its own SO_REUSEPORT socket; 0 = one per core.
    public var udpWorkers = 0
    /// [server] udp_receive_buffer: bytes of kernel buffer per UDP socket (capped by net.core.rmem_max).
    public var udpReceiveBuffer = 4 << 20
    /// [server] answer_cache_slots: finished UDP answers memoised per worker, keyed by the exact query bytes
    /// (emptied when the zones change); 0 turns the memo off.
    public var answerCacheSlots = 4096
    /// [server] allow_query: clients that may ask at all (authoritative answers included); nil = everyone.
    public var allowQuery: [IPPrefix]? = nil
    /// [server] tcp_max_connections: open TCP connections at most; more are closed at once (RFC 7766 §6.2.2).
    public var tcpMaxConnections = 256
    /// [server] tcp_idle_timeout_ms: a TCP connection idle this long is closed (RFC 7766 §6.2.3).
    public var tcpIdleTimeoutMs = 10_000
    /// [server] tcp_frame_timeout_ms: a message must arrive whole this long after its first byte, or the
    /// connection is closed (RFC 7766 §6.2: servers may close connections slow to send a complete message).
    public var tcpFrameTimeoutMs = 2_000
    /// [server] tcp_max_per_prefix: connections one client network (/24, /56) may hold at once; 0 = a quarter
    /// of tcp_max_connections. A new client's network at its share displaces its own slowest connection.
    public var tcpMaxPerPrefix = 0
    /// `tcp_max_per_prefix` in effect.
    public var tcpPrefixShare: Int { tcpMaxPerPrefix > 0 ? tcpMaxPerPrefix : max(1, tcpMaxConnections / 4) }
    /// [server] edns_udp_payload: the largest UDP answer sent to EDNS clients (DNS flag day 2020: 1232).
    public var ednsUDPPayload = 1232
    /// [server] control_socket: the Unix socket `dnsctl cache` talks to (mode 0660); "" = none; unset = beside
    /// the store (`<store dir>/jamdns.ctl`), which is where dnsctl looks by default.
    public var controlSocket: String? = nil

    /// The control socket path in effect.
    public var controlSocketPath: String? {
        if let c = controlSocket { return c.isEmpty ? nil : c }
        return ZoneStore.defaultControlSocket(forStore: dbPath)
    }
    /// [store] path: the SQLite file.
    public var dbPath = "jamdns.sqlite"
    /// [store] seed_zones: directory of `*.zone` files imported when the store holds no zone yet; "" = none.
    public var seedZones = "zones"
    /// [store] poll_interval_ms: how often the server checks the store for committed edits.
    public var pollIntervalMs = 250
    /// [log] level: trace, debug, info, notice, warning, error, critical.
    public var logLevel = "info"
    /// [resolver] and [forward."zone."]: recursion for LAN clients (see ResolverConfig).
    public var resolver = ResolverConfig()
    /// [metrics] listen: where Prometheus scrapes `/metrics` and `/healthz` (HTTP); nil = no endpoint.
    public var metricsListen: ListenAddress? = nil
    /// [log] query_log: a file that gets one line per answered query ("-" = standard output); "" = none.
    public var queryLog = ""
    /// [log] query_log_max_bytes: the file is rotated to `<file>.1` past this size.
    public var queryLogMaxBytes = 16 << 20
    /// [rate_limit]: response-rate limiting for clients outside the LAN.
    public var rateLimit = RateLimitConfig()
    /// [zone."NAME."]: transfers and NOTIFY per served zone, by lowercased name.
    public var zones: [DNSName: ZoneConfig] = [:]
    /// [catalog] publish: the name of a catalog zone (RFC 9432) listing this server's primary zones, served
    /// and transferred like any zone (give it a [zone] table with allow_transfer and notify).
    public var publishCatalog: DNSName?
    /// [update]: the bounds on RFC 2136 UPDATEs (who may change what is each [zone] table's `update`).
    public var updateLimits = UpdateLimits()

    public init() {}

    static let known: Set<String> = [
        "server.listen", "server.udp_workers", "server.udp_receive_buffer", "server.answer_cache_slots", "server.control_socket", "server.allow_query", "server.tcp_max_connections", "server.tcp_idle_timeout_ms", "server.tcp_frame_timeout_ms", "server.tcp_max_per_prefix",
        "server.edns_udp_payload", "store.path", "store.seed_zones", "store.poll_interval_ms", "log.level",
        "log.query_log", "log.query_log_max_bytes", "metrics.listen",
        "rate_limit.enabled", "rate_limit.responses_per_second", "rate_limit.slip", "rate_limit.ipv4_prefix",
        "rate_limit.ipv6_prefix", "rate_limit.exempt", "catalog.publish", "update.rate", "update.max_records", "update.max_zone_records",
    ]

    /// Parses a TOML config; every error names the line and the key.
    public static func parse(_ text: String, file: String = "config") throws(ConfigError) -> ServerConfig {
        let doc: TOMLDocument
        do { doc = try TOMLDocument.parse(text) } catch { throw ConfigError("\(file):\(error.line): \(error.message)") }
        var c = ServerConfig()
        for (key, (_, line)) in doc.values where !known.contains(key) && !resolverKeys.contains(key) && !key.hasPrefix("forward.\"") && !key.hasPrefix("zone.\"") {
            throw ConfigError("\(file):\(line): " + TOMLDocument.unknownKeyMessage(key, known: Array(known) + Array(resolverKeys)))
        }
        func int(_ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int? {
            do { return try doc.integer(key, in: range) } catch { throw ConfigError(file: file, error) }
        }
        func string(_ key: String) throws(ConfigError) -> String? {
            do { return try doc.string(key) } catch { throw ConfigError(file: file, error) }
        }
        if let (v, line) = doc.values["server.listen"] {
            guard case .array(let items) = v, !items.isEmpty else {
                throw ConfigError("\(file):\(line): 'server.listen' must be a non-empty array like [\"127.0.0.1:5300\", \"[::1]:5300\"]")
            }
            var out: [ListenAddress] = []
            for item in items {
                guard case .string(let s) = item, let a = ListenAddress(s) else {
                    throw ConfigError("\(file):\(line): bad listen address \(item); use \"IPv4:PORT\" or \"[IPv6]:PORT\"")
                }
                out.append(a)
            }
            c.listen = out
            c.listenExplicit = true
        }
        c.allowQuery = try prefixes(doc, "server.allow_query", file: file)
        if let v = try int("server.udp_workers", 0...64) { c.udpWorkers = v }
        if let v = try int("server.udp_receive_buffer", 0...(256 << 20)) { c.udpReceiveBuffer = v }
        if let v = try int("server.answer_cache_slots", 0...1 << 20) { c.answerCacheSlots = v }
        if let v = try int("server.tcp_max_connections", 1...65535) { c.tcpMaxConnections = v }
        if let v = try int("server.tcp_idle_timeout_ms", 100...3_600_000) { c.tcpIdleTimeoutMs = v }
        if let v = try int("server.tcp_frame_timeout_ms", 100...60_000) { c.tcpFrameTimeoutMs = v }
        if let v = try int("server.tcp_max_per_prefix", 0...65535) { c.tcpMaxPerPrefix = v }
        if let v = try int("server.edns_udp_payload", 512...4096) { c.ednsUDPPayload = v }
        if let v = try string("server.control_socket") { c.controlSocket = v }
        if let v = try string("store.path") { c.dbPath = v }
        if let v = try string("store.seed_zones") { c.seedZones = v }
        if let v = try int("store.poll_interval_ms", 50...60_000) { c.pollIntervalMs = v }
        if let v = try string("log.level") {
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(v) else {
                throw ConfigError("\(file):\(doc.values["log.level"]?.1 ?? 0): 'log.level' must be one of \(levels.joined(separator: ", "))")
            }
            c.logLevel = v
        }
        if let v = try string("log.query_log") { c.queryLog = v }
        if let v = try int("log.query_log_max_bytes", 4096...(1 << 34)) { c.queryLogMaxBytes = v }
        if let v = try string("metrics.listen"), !v.isEmpty {
            guard let a = ListenAddress(v) else {
                throw ConfigError("\(file):\(doc.values["metrics.listen"]?.1 ?? 0): bad 'metrics.listen' \"\(v)\"; use \"127.0.0.1:9153\" or \"[::1]:9153\"")
            }
            c.metricsListen = a
        }
        do {
            if let v = try doc.boolean("rate_limit.enabled") { c.rateLimit.enabled = v }
        } catch { throw ConfigError(file: file, error) }
        if let v = try int("rate_limit.responses_per_second", 1...100_000) { c.rateLimit.responsesPerSecond = v }
        if let v = try int("rate_limit.slip", 0...10) { c.rateLimit.slip = v }
        if let v = try int("rate_limit.ipv4_prefix", 8...32) { c.rateLimit.ipv4Prefix = v }
        if let v = try int("rate_limit.ipv6_prefix", 16...128) { c.rateLimit.ipv6Prefix = v }
        c.rateLimit.exempt = try prefixes(doc, "rate_limit.exempt", file: file)
        c.resolver = try parseResolver(doc, file: file)
        c.zones = try parseZones(doc, file: file, lan: c.resolver.allowRecursion)
        if let v = try int("update.rate", 1...100_000) { c.updateLimits.ratePerSecond = v }
        if let v = try int("update.max_records", 1...65535) { c.updateLimits.maxRecords = v }
        if let v = try int("update.max_zone_records", 1...100_000_000) { c.updateLimits.maxZoneRecords = v }
        if let v = try string("catalog.publish") {
            guard let n = try? DNSName(v.hasSuffix(".") ? v : v + ".") else {
                throw ConfigError("\(file):\(doc.values["catalog.publish"]?.1 ?? 0): bad catalog name '\(v)'; use a name such as \"catalog.jamfox.dev.\"")
            }
            guard c.zones[n]?.isSecondary != true else {
                throw ConfigError("\(file):\(doc.values["catalog.publish"]?.1 ?? 0): \(n) is published here and also has primaries; it can be one or the other")
            }
            c.publishCatalog = n
        }
        // Loop detection: forwarding to our own listen address would send queries around in circles.
        for u in c.resolver.upstreams + c.resolver.zones.flatMap(\.servers) {
            if c.listen.contains(where: { $0.host == u.host && $0.port == u.port }) {
                throw ConfigError("\(file): upstream \(u) is one of jamdns's own listen addresses; that would loop")
            }
        }
        return c
    }
}

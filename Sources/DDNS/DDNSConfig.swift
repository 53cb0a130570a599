import DNSWire
import ConfigFormat

/// How to learn the WAN address, tried in the configured order.
public enum DetectMethod: Sendable, Equatable, CustomStringConvertible {
    /// Cloudflare's /cdn-cgi/trace (`ip=`, checked `h=` and `warp=off`).
    case cloudflareTrace(url: String)
    /// A plain-text echo service (ipify style).
    case echo(url: String)
    /// The address of a local interface (IPv6: stable global addresses only).
    case interface(name: String?)
    /// Asked of a DNS service directly (never through our own resolver): `whoami.cloudflare` TXT in class CH,
    /// or `myip.opendns.com` A/AAAA. `server` nil: the service's own resolver for the family.
    case dns(service: DNSService, server: String?)

    public var description: String {
        switch self {
        case .cloudflareTrace(let u): "cloudflare-trace \(u)"
        case .echo(let u): "echo \(u)"
        case .interface(let n): "interface \(n ?? "any")"
        case .dns(let svc, let server): "dns \(svc.rawValue)" + (server.map { " \($0)" } ?? "")
        }
    }

    static let defaultTrace = "https://cloudflare.com/cdn-cgi/trace"

    /// "cloudflare-trace [URL]", "echo URL", "interface [NAME]".
    static func parse(_ text: String) -> DetectMethod? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let kind = parts.first else { return nil }
        switch kind {
        case "cloudflare-trace": return parts.count <= 2 ? .cloudflareTrace(url: parts.count == 2 ? parts[1] : defaultTrace) : nil
        case "echo": return parts.count == 2 && (parts[1].hasPrefix("https://") || parts[1].hasPrefix("http://")) ? .echo(url: parts[1]) : nil
        case "interface": return parts.count <= 2 ? .interface(name: parts.count == 2 ? parts[1] : nil) : nil
        case "dns":
            guard parts.count == 2 || parts.count == 3, let svc = DNSService(rawValue: parts[1]) else { return nil }
            return .dns(service: svc, server: parts.count == 3 ? parts[2] : nil)
        default: return nil
        }
    }
}

/// Where a secret comes from: never argv, never the config file itself.
public enum SecretSource: Sendable, Equatable {
    case file(String)
    case environment(String)
    /// systemd `LoadCredential=`: `$CREDENTIALS_DIRECTORY/NAME`.
    case credential(String)
}

public struct ProviderConfig: Sendable, Equatable {
    public enum Kind: String, Sendable { case cloudflare, namecheap }
    public var kind: Kind
    public var api: String
    public var secret: SecretSource
    public var zone: String
    /// Labels relative to the zone ("vpn", "@", "*") or full names.
    public var names: [String]
    public var create = false
    public var ttl: Int?
    public var proxied: Bool?
    public var comment: String?

    public var ddnsNames: [DDNSName] {
        names.map { n in
            let z = zone.lowercased()
            if n == "@" { return DDNSName(fqdn: z, zone: z) }
            let lower = n.lowercased()
            if lower == z || lower.hasSuffix("." + z) || lower.hasSuffix("." + z + ".") { return DDNSName(fqdn: lower, zone: z) }
            return DDNSName(fqdn: lower + "." + z, zone: z)
        }
    }
}

public struct DDNSConfigError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// `jamdns-ddns`'s configuration (TOML). Every key is documented in the README.
public struct DDNSConfig: Sendable, Equatable {
    public var intervalSeconds = 300
    /// [ddns] verify_interval: how often the provider's records are read back even when our state says they
    /// are right, to repair a record changed or deleted at the provider (seconds; 0 = only at start).
    public var verifyIntervalSeconds = 3600
    public var jitterSeconds = 30
    public var stateFile = "ddns-state.json"
    public var ipv4 = true
    public var ipv6 = false
    public var detectV4: [DetectMethod] = [.cloudflareTrace(url: DetectMethod.defaultTrace)]
    public var detectV6: [DetectMethod] = [.interface(name: nil), .cloudflareTrace(url: DetectMethod.defaultTrace)]
    public var allowNonGlobal = false
    /// [ddns] metrics_listen: `/metrics` and `/healthz` over HTTP ("127.0.0.1:9154"); nil = none.
    public var metricsListen: HostPort? = nil

    public struct HostPort: Sendable, Equatable {
        public var host: String
        public var port: UInt16
    }

    /// "IPv4:PORT" or "[IPv6]:PORT".
    static func hostPort(_ s: String) -> HostPort? {
        DNSWire.HostPort(s).map { HostPort(host: $0.host, port: $0.port) }
    }
    public var providers: [ProviderConfig] = []
    /// [lab] store: the jamdns store holding `record`; unset = the lab's zone is not touched.
    public var labStore: String?
    /// [lab] record: a name in the lab's zone kept at the WAN address (A and/or AAAA), e.g. wan.jamfox.dev.
    public var labRecord: String?
    /// [lab] control_socket: the running jamdns to tell to drop cached answers for the DDNS names after a
    /// change; default beside the store (as jamdns does).
    public var labControlSocket: String?

    public init() {}

    static let knownKeys: Set<String> = [
        "ddns.interval_seconds", "ddns.verify_interval", "ddns.jitter_seconds", "ddns.state_file", "ddns.ipv4", "ddns.ipv6", "ddns.detect_v4",
        "ddns.detect_v6", "ddns.allow_non_global", "ddns.metrics_listen", "lab.store", "lab.record", "lab.control_socket",
    ]
    static let providerKeys: Set<String> = [
        "api", "token_file", "token_env", "token_credential", "password_file", "password_env", "password_credential",
        "zone", "names", "create", "ttl", "proxied", "comment",
    ]

    public static func parse(_ text: String, file: String = "config") throws(DDNSConfigError) -> DDNSConfig {
        let doc: TOMLDocument
        do { doc = try TOMLDocument.parse(text) } catch { throw DDNSConfigError(message: "\(file):\(error.line): \(error.message)") }
        var c = DDNSConfig()
        func fail(_ key: String, _ m: String) -> DDNSConfigError { DDNSConfigError(message: "\(file):\(doc.values[key]?.1 ?? 0): \(m)") }
        for (key, (_, line)) in doc.values {
            let parts = key.split(separator: ".", maxSplits: 1).map(String.init)
            let known = knownKeys.contains(key)
                || (parts.count == 2 && ["cloudflare", "namecheap"].contains(parts[0]) && providerKeys.contains(parts[1]))
            guard known else {
                let all = Array(knownKeys) + ["cloudflare", "namecheap"].flatMap { p in providerKeys.map { p + "." + $0 } }
                throw DDNSConfigError(message: "\(file):\(line): " + TOMLDocument.unknownKeyMessage(key, known: all))
            }
        }
        func typed<T>(_ read: () throws(TOMLError) -> T) throws(DDNSConfigError) -> T {
            do { return try read() } catch { throw DDNSConfigError(message: "\(file):\(error.line): \(error.message)") }
        }
        func int(_ k: String, _ r: ClosedRange<Int>) throws(DDNSConfigError) -> Int? { try typed { () throws(TOMLError) in try doc.integer(k, in: r) } }
        func bool(_ k: String) throws(DDNSConfigError) -> Bool? { try typed { () throws(TOMLError) in try doc.boolean(k) } }
        func string(_ k: String) throws(DDNSConfigError) -> String? { try typed { () throws(TOMLError) in try doc.string(k) } }
        func strings(_ k: String) throws(DDNSConfigError) -> [String]? { try typed { () throws(TOMLError) in try doc.strings(k) } }
        func methods(_ k: String) throws(DDNSConfigError) -> [DetectMethod]? {
            guard let list = try strings(k) else { return nil }
            var out: [DetectMethod] = []
            for s in list {
                guard let m = DetectMethod.parse(s) else {
                    throw fail(k, "bad detection method '\(s)'; use \"cloudflare-trace [URL]\", \"echo URL\", \"interface [NAME]\" or \"dns whoami.cloudflare|myip.opendns.com [SERVER]\"")
                }
                out.append(m)
            }
            guard !out.isEmpty else { throw fail(k, "'\(k)' needs at least one method") }
            return out
        }
        if let v = try int("ddns.interval_seconds", 30...86_400) { c.intervalSeconds = v }
        if let v = try int("ddns.verify_interval", 0...604_800) { c.verifyIntervalSeconds = v }
        if let v = try int("ddns.jitter_seconds", 0...3600) { c.jitterSeconds = v }
        if let v = try string("ddns.state_file") { c.stateFile = v }
        if let v = try bool("ddns.ipv4") { c.ipv4 = v }
        if let v = try bool("ddns.ipv6") { c.ipv6 = v }
        if let v = try methods("ddns.detect_v4") { c.detectV4 = v }
        if let v = try methods("ddns.detect_v6") { c.detectV6 = v }
        if let v = try bool("ddns.allow_non_global") { c.allowNonGlobal = v }
        if let v = try string("ddns.metrics_listen"), !v.isEmpty {
            guard let hp = Self.hostPort(v) else {
                throw DDNSConfigError(message: "\(file):\(doc.values["ddns.metrics_listen"]?.1 ?? 0): bad 'ddns.metrics_listen' \"\(v)\"; use \"127.0.0.1:9154\" or \"[::1]:9154\"")
            }
            c.metricsListen = hp
        }
        for kind in [ProviderConfig.Kind.cloudflare, .namecheap] {
            let p = kind.rawValue
            guard doc.values.keys.contains(where: { $0.hasPrefix(p + ".") }) else { continue }
            let word = kind == .cloudflare ? "token" : "password"
            var sources: [SecretSource] = []
            if let f = try string("\(p).\(word)_file") { sources.append(.file(f)) }
            if let e = try string("\(p).\(word)_env") { sources.append(.environment(e)) }
            if let cr = try string("\(p).\(word)_credential") { sources.append(.credential(cr)) }
            guard sources.count == 1 else {
                throw DDNSConfigError(message: "\(file): [\(p)] needs exactly one of \(word)_file, \(word)_env, \(word)_credential (the \(word) itself never goes in the config)")
            }
            guard let zone = try string("\(p).zone"), !zone.isEmpty else { throw DDNSConfigError(message: "\(file): [\(p)] needs zone = \"example.com\"") }
            guard let names = try strings("\(p).names"), !names.isEmpty else { throw DDNSConfigError(message: "\(file): [\(p)] needs names = [\"vpn\", \"@\", ...]") }
            var pc = ProviderConfig(kind: kind, api: try string("\(p).api") ?? (kind == .cloudflare ? "https://api.cloudflare.com/client/v4" : "https://dynamicdns.park-your-domain.com"),
                                    secret: sources[0], zone: zone.hasSuffix(".") ? String(zone.dropLast()) : zone, names: names)
            pc.create = try bool("\(p).create") ?? false
            pc.ttl = try int("\(p).ttl", 1...86_400)
            if let t = pc.ttl, t != 1 && t < 60 { throw fail("\(p).ttl", "'\(p).ttl' must be 1 (automatic) or 60-86400") }
            pc.proxied = try bool("\(p).proxied")
            pc.comment = try string("\(p).comment")
            if kind == .namecheap && (pc.create || pc.ttl != nil || pc.proxied != nil || pc.comment != nil) {
                throw DDNSConfigError(message: "\(file): [namecheap] takes no create/ttl/proxied/comment (its dynamic DNS API has none)")
            }
            c.providers.append(pc)
        }
        c.labStore = try string("lab.store")
        c.labRecord = try string("lab.record")
        c.labControlSocket = try string("lab.control_socket")
        if (c.labStore == nil) != (c.labRecord == nil) && c.labControlSocket == nil {
            throw DDNSConfigError(message: "\(file): [lab] needs both store and record (or only control_socket)")
        }
        guard !c.providers.isEmpty else { throw DDNSConfigError(message: "\(file): no [cloudflare] or [namecheap] section: nothing to update") }
        guard c.ipv4 || c.ipv6 else { throw DDNSConfigError(message: "\(file): ipv4 and ipv6 are both off: nothing to publish") }
        return c
    }
}

/// Reads a secret; `environment` and `readFile` are injected (the executable passes the real ones).
public func loadSecret(_ source: SecretSource, environment: [String: String], readFile: (String) throws -> String) throws(DDNSConfigError) -> Secret {
    func clean(_ s: String, _ from: String) throws(DDNSConfigError) -> Secret {
        let v = s.trimmingSpaces
        guard !v.isEmpty else { throw DDNSConfigError(message: "the secret from \(from) is empty") }
        guard !v.contains("\n") else { throw DDNSConfigError(message: "the secret from \(from) has more than one line") }
        return Secret(v)
    }
    switch source {
    case .environment(let name):
        guard let v = environment[name] else { throw DDNSConfigError(message: "environment variable \(name) is not set") }
        return try clean(v, "$\(name)")
    case .file(let path):
        let text: String
        do { text = try readFile(path) } catch { throw DDNSConfigError(message: "cannot read the secret file \(path): \(error)") }
        return try clean(text, path)
    case .credential(let name):
        guard let dir = environment["CREDENTIALS_DIRECTORY"] else {
            throw DDNSConfigError(message: "credential \(name) asked for, but $CREDENTIALS_DIRECTORY is not set (run under systemd with LoadCredential=)")
        }
        let path = dir + "/" + name
        let text: String
        do { text = try readFile(path) } catch { throw DDNSConfigError(message: "cannot read credential \(name) from \(dir): \(error)") }
        return try clean(text, "credential \(name)")
    }
}

/// DNS services that tell the asker its own address.
public enum DNSService: String, Sendable, Equatable {
    case whoamiCloudflare = "whoami.cloudflare"
    case myipOpenDNS = "myip.opendns.com"

    /// The service's own servers per family (asked directly, so the answer is the address they saw).
    public func defaultServer(_ family: AddressFamily) -> String {
        switch (self, family) {
        case (.whoamiCloudflare, .v4): "1.1.1.1"
        case (.whoamiCloudflare, .v6): "[2606:4700:4700::1111]:53"
        case (.myipOpenDNS, .v4): "208.67.222.222"
        case (.myipOpenDNS, .v6): "[2620:119:35::35]:53"
        }
    }
}

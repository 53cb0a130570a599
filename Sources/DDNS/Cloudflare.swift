import FoundationEssentials

/// Cloudflare API v4 with an API token (`Authorization: Bearer`): zone id by name (cached), records listed by
/// type and exact name, PATCH of the content only (ttl, proxied and comment kept unless configured), create
/// when missing if allowed. Never deletes.
public final class CloudflareProvider: DDNSProvider {
    public let label = "cloudflare"
    public let families: [AddressFamily] = [.v4, .v6]
    public let canRead = true
    let base: String
    let token: Secret
    let http: HTTPClient
    public var allowCreate: Bool
    /// Set on update when configured; nil keeps what the record has.
    public var ttl: Int?
    public var proxied: Bool?
    public var comment: String?
    var zoneIDs: [String: String] = [:]

    public init(baseURL: String = "https://api.cloudflare.com/client/v4", token: Secret, http: HTTPClient = HTTPClient(),
                allowCreate: Bool = false, ttl: Int? = nil, proxied: Bool? = nil, comment: String? = nil) {
        base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.token = token
        self.http = http
        self.allowCreate = allowCreate
        self.ttl = ttl
        self.proxied = proxied
        self.comment = comment
    }

    struct Envelope<T: Decodable>: Decodable {
        var success: Bool
        var errors: [APIError]?
        var result: T?
    }
    struct APIError: Decodable {
        var code: Int
        var message: String
        var error_chain: [APIError]?
    }
    struct Zone: Decodable {
        var id: String
        var name: String
    }
    struct Record: Decodable {
        var id: String
        var type: String
        var name: String
        var content: String
    }

    /// Cloudflare's auth failure codes (6003/6111 bad header, 1000 invalid token, 9109 invalid/expired
    /// token, 10000 authentication error or missing permission).
    static let authCodes: Set<Int> = [6003, 6111, 1000, 9109, 10000, 10001]

    func call<T: Decodable>(_ method: String, _ path: String, body: [UInt8]? = nil, as: T.Type) throws(DDNSError) -> T {
        let r: HTTPResponse
        do {
            r = try http.perform(HTTPRequest(method: method, url: base + path,
                                             headers: [("Authorization", "Bearer " + token.value), ("Accept", "application/json")],
                                             body: body, timeoutMs: 15_000))
        } catch {
            throw transient(error)
        }
        let env = try? JSONDecoder().decode(Envelope<T>.self, from: Data(r.body))
        let errs = (env?.errors ?? []) + (env?.errors ?? []).flatMap { $0.error_chain ?? [] }
        let text = errs.map { "\($0.code) \($0.message)" }.joined(separator: "; ")
        if r.status == 429 { throw .rateLimited(retryAfter: r.header("retry-after").flatMap { Int($0.trimmingSpaces) }) }
        if let e = errs.first(where: { $0.code == 9109 }), e.message.lowercased().contains("location") {
            // "Cannot use the access token from location: IP": the token has a client IP filter, and a DDNS
            // client's address is exactly what changes.
            throw .auth("Cloudflare says \(text). The token is limited to client IP addresses (Client IP Address Filtering) that do not include this host's current address: widen or remove the token's IP filter")
        }
        if errs.contains(where: { Self.authCodes.contains($0.code) }) || r.status == 401 || r.status == 403 {
            throw .auth("Cloudflare says \(text.isEmpty ? "HTTP \(r.status)" : text). Check the API token: it needs Zone:Read and DNS:Edit on the zone")
        }
        guard (200...299).contains(r.status), let env, env.success, let result = env.result else {
            throw classify(status: r.status == 200 ? 400 : r.status, retryAfter: r.header("retry-after"),
                           message: text.isEmpty ? "unexpected answer" : text)
        }
        return result
    }

    func zoneID(_ zone: String) throws(DDNSError) -> String {
        if let id = zoneIDs[zone] { return id }
        let zones = try call("GET", "/zones?name=\(percentEncoded(zone))", as: [Zone].self)
        guard let z = zones.first(where: { $0.name.lowercased() == zone }) else {
            throw .rejected("zone \(zone) is not in this Cloudflare account (or the token cannot see it)")
        }
        zoneIDs[zone] = z.id
        return z.id
    }

    func records(_ name: DDNSName, type: String) throws(DDNSError) -> (String, [Record]) {
        let zid = try zoneID(name.zone)
        let recs = try call("GET", "/zones/\(zid)/dns_records?type=\(type)&name=\(percentEncoded(name.fqdn))", as: [Record].self)
        // Names compared case-insensitively; the API's name filter is exact already, but do not trust it.
        return (zid, recs.filter { $0.name.lowercased() == name.fqdn && $0.type == type })
    }

    public func current(_ name: DDNSName, family: AddressFamily) throws(DDNSError) -> String? {
        try records(name, type: family == .v4 ? "A" : "AAAA").1.first?.content
    }

    public func update(_ name: DDNSName, to address: WANAddress, dryRun: Bool) throws(DDNSError) -> UpdateResult {
        let type = address.family == .v4 ? "A" : "AAAA"
        let (zid, recs) = try records(name, type: type)
        let value = address.description
        // Several records of the type at one name (a round robin someone made, or a stale duplicate): one is
        // ours, the one that already holds the address or else the first; the rest are reported by id.
        if let target = recs.first(where: { $0.content == value }) ?? recs.first {
            let others = recs.filter { $0.id != target.id }.map { "\(type) \($0.content) (id \($0.id))" }
            if target.content == value { return UpdateResult(.unchanged, others: others) }
            if dryRun { return UpdateResult(.wouldUpdate(from: target.content), others: others) }
            var body: [String: JSONValue] = ["content": .string(value)]
            if let ttl { body["ttl"] = .int(ttl) }
            if let proxied { body["proxied"] = .bool(proxied) }
            if let comment { body["comment"] = .string(comment) }
            _ = try call("PATCH", "/zones/\(zid)/dns_records/\(target.id)", body: JSONValue.object(body).bytes, as: Record.self)
            return UpdateResult(.updated(from: target.content), others: others)
        }
        guard allowCreate else {
            throw .rejected("\(name) has no \(type) record at Cloudflare and creating is off (set create = true)")
        }
        if dryRun { return UpdateResult(.wouldCreate) }
        var body: [String: JSONValue] = ["type": .string(type), "name": .string(name.fqdn), "content": .string(value),
                                         "ttl": .int(ttl ?? 1), "proxied": .bool(proxied ?? false)]
        if let comment { body["comment"] = .string(comment) }
        _ = try call("POST", "/zones/\(zid)/dns_records", body: JSONValue.object(body).bytes, as: Record.self)
        return UpdateResult(.created)
    }
}

/// A tiny JSON writer for request bodies (keys sorted, so bodies are stable).
enum JSONValue {
    case string(String), int(Int), bool(Bool), object([String: JSONValue])
    var bytes: [UInt8] { Array(text.utf8) }
    var text: String {
        switch self {
        case .string(let s):
            var out = "\""
            for u in s.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
                default: out.unicodeScalars.append(u)
                }
            }
            return out + "\""
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .object(let o): return "{" + o.keys.sorted().map { JSONValue.string($0).text + ":" + o[$0]!.text }.joined(separator: ",") + "}"
        }
    }
}

/// A secret (API token, password): its value is never printed; `description` is a fixed placeholder.
public struct Secret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<secret>" }
    public var debugDescription: String { "<secret>" }
}

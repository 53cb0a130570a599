#if canImport(Glibc)
import Glibc
#endif
import ConfigFormat
import DNSWire
import DNSZone
import Synchronization

/// One entry of a zone's `update` list (RFC 2136 permissions, in the spirit of BIND's `update-policy` and
/// Knot's `update-owner`): who ("key NAME", "from PREFIX", or both), which names, and which types.
///
///     "key kea subdomain dhcp.jamfox.dev. A AAAA DHCID"
///     "key certbot pattern _acme-challenge.*.jamfox.dev. TXT"
///     "key host1.jamfox.dev. self A AAAA SSHFP"
///     "from 192.168.10.0/24 name printer.jamfox.dev. A"     (address only: off unless written)
///
/// Names: `zone` (any name in the zone), `name N` (N only), `subdomain N` (N and below), `pattern P` (a `*`
/// label stands for any number of labels, none included), `self` (the key's own name), `selfsub` (the key's
/// name and below). No types: every type but SOA, NS and the DNSSEC ones (as BIND does).
public struct UpdateRule: Sendable, Equatable, CustomStringConvertible {
    public enum Names: Sendable, Equatable {
        case zone, name(DNSName), subdomain(DNSName), pattern(DNSName), own, ownSubdomain
    }
    public var key: DNSName?
    public var from: IPPrefix?
    public var names: Names
    public var types: [RRType]
    let text: String

    static let implicitlyExcluded: Set<RRType> = [.soa, .ns, .rrsig, .nsec, .nsec3, .dnskey, .nsec3param]

    /// Parses one entry; the error says what is wrong in words the config file's reader can act on.
    public init(_ text: String, zone: DNSName) throws(ConfigError) {
        self.text = text
        var words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)[...]
        func name(_ what: String) throws(ConfigError) -> DNSName {
            guard let w = words.popFirst(), let n = try? DNSName(w.hasSuffix(".") ? w : w + ".") else {
                throw ConfigError("'\(what)' needs a name after it")
            }
            return n
        }
        var key: DNSName?, from: IPPrefix?
        while let w = words.first, w == "key" || w == "from" {
            words.removeFirst()
            if w == "key" { key = try name("key") } else {
                guard let p = words.popFirst().flatMap(IPPrefix.init) else { throw ConfigError("'from' needs an address or prefix after it, e.g. 192.168.10.0/24") }
                from = p
            }
        }
        guard key != nil || from != nil else { throw ConfigError("an update rule starts with 'key NAME' or 'from PREFIX' (who may update)") }
        let kind = words.popFirst() ?? ""
        switch kind {
        case "zone": names = .zone
        case "name": names = .name(try name("name"))
        case "subdomain": names = .subdomain(try name("subdomain"))
        case "pattern": names = .pattern(try name("pattern"))
        case "self", "selfsub":
            guard key != nil else { throw ConfigError("'\(kind)' means the key's own name, so the rule needs 'key NAME'") }
            names = kind == "self" ? .own : .ownSubdomain
        default:
            throw ConfigError("'\(kind)' is not a kind of names; use zone, name N, subdomain N, pattern P, self or selfsub")
        }
        switch names {
        case .name(let n), .subdomain(let n), .pattern(let n):
            guard n.isSubdomain(of: zone) else { throw ConfigError("\(n) is outside the zone \(zone)") }
        default: break
        }
        var types: [RRType] = []
        for w in words {
            guard let t = RRType(text: w), !t.isMetaOrQuery || t == .any else { throw ConfigError("'\(w)' is not a record type") }
            types.append(t)
        }
        self.key = key?.lowercased
        self.from = from
        self.types = types
    }

    public var description: String { text }

    /// True when this rule lets `key` (or a client at `client`) change the `type` records at `name`.
    func permits(_ name: DNSName, _ type: RRType, key k: DNSName?, client: IPBits) -> Bool {
        if let key { guard key == k?.lowercased else { return false } }
        if let from { guard PrefixMatcher([from]).contains(client) else { return false } }
        if types.isEmpty {
            if Self.implicitlyExcluded.contains(type) { return false }
        } else if !types.contains(.any) && !types.contains(type) {
            return false
        }
        switch names {
        case .zone: return true
        case .name(let n): return name == n
        case .subdomain(let n): return name.isSubdomain(of: n)
        case .pattern(let p): return Self.matches(name, pattern: p)
        case .own: return k.map { name == $0 } ?? false
        case .ownSubdomain: return k.map { name.isSubdomain(of: $0) } ?? false
        }
    }

    /// `*` labels of the pattern stand for any run of labels (none included); the rest match case-insensitively.
    static func matches(_ name: DNSName, pattern: DNSName) -> Bool {
        let n = name.lowercased.labels.map(Array.init), p = pattern.lowercased.labels.map(Array.init)
        func go(_ i: Int, _ j: Int) -> Bool {
            if j == p.count { return i == n.count }
            if p[j] == [UInt8(ascii: "*")] {
                for k in i...n.count where go(k, j + 1) { return true }
                return false
            }
            return i < n.count && n[i] == p[j] && go(i + 1, j + 1)
        }
        return go(0, 0)
    }
}

/// `[update]`: the bounds every UPDATE meets, whoever sends it.
public struct UpdateLimits: Sendable, Equatable {
    /// rate: UPDATE messages a second per key (or per address, for address rules); twice that in a burst.
    public var ratePerSecond = 100
    /// max_records: prerequisites plus updates in one message.
    public var maxRecords = 1000
    /// max_zone_records: a zone may not grow past this by UPDATE.
    public var maxZoneRecords = 1_000_000
    public init() {}
}

/// The UPDATE decisions of one config: who may change what, in which zone, how often. One place, consulted by
/// the pipeline before anything is queued for the store, and by the store (`permits`) for deletes of every
/// RRset at a name.
final class UpdateACL: Sendable {
    let rules: [DNSName: [UpdateRule]]
    let limits: UpdateLimits
    /// Address-only rules apply only inside allow_recursion too.
    let lan: PrefixMatcher
    private let buckets = Mutex<[String: (tokens: Double, atMs: Int64)]>([:])

    init(_ zones: [DNSName: ZoneConfig], limits: UpdateLimits, lan: [IPPrefix]) {
        rules = zones.filter { !$0.value.updateRules.isEmpty }.mapValues(\.updateRules)
        self.limits = limits
        self.lan = PrefixMatcher(lan)
    }

    enum Verdict: Equatable {
        /// May go to the store; `source` is what the records will say changed them.
        case allowed(source: String)
        case refused(String)
        /// Over the sender's rate: REFUSED without queueing.
        case limited
    }

    /// The checks that need no data: the sender has a rule for the zone, every record it adds or deletes by
    /// type is within its rules, the message is within bounds, and the sender within its rate.
    func authorize(_ req: Update.Request, key: DNSName?, client: IPBits, nowMs: Int64) -> Verdict {
        guard let zoneRules = rules[req.zone.lowercased] else {
            return .refused("no update rule for the zone \(req.zone) (add an 'update' list to its [zone] table)")
        }
        let mine = zoneRules.filter { r in
            (r.key == nil || r.key == key?.lowercased) && (r.from.map { PrefixMatcher([$0]).contains(client) } ?? true)
                && (r.key != nil || lan.contains(client))
        }
        guard !mine.isEmpty else {
            return .refused(key == nil ? "unsigned: a TSIG key is required (no address rule matches \(client.text))"
                                       : "key \(key!) has no update rule for \(req.zone) from \(client.text)")
        }
        guard req.prerequisites.count + req.updates.count <= limits.maxRecords else {
            return .refused("\(req.prerequisites.count + req.updates.count) records in one message, over update.max_records (\(limits.maxRecords))")
        }
        for u in req.updates where !(u.rrclass == .any && u.type == .any) {
            guard mine.contains(where: { $0.permits(u.name, u.type, key: key, client: client) }) else {
                return .refused("\(key.map { "key \($0)" } ?? client.text) may not change \(u.name) \(u.type)")
            }
        }
        let who = key.map { "key \($0.lowercased)" } ?? "address \(client.text)"
        guard take(who, nowMs: nowMs) else { return .limited }
        return .allowed(source: who)
    }

    /// The per-record check the store makes for deletes of every RRset at a name.
    func permits(zone: DNSName, key: DNSName?, client: IPBits) -> @Sendable (DNSName, RRType) -> Bool {
        let rs = (rules[zone.lowercased] ?? []).filter { $0.key != nil || lan.contains(client) }
        return { name, type in rs.contains { $0.permits(name, type, key: key, client: client) } }
    }

    /// A token bucket per sender: `ratePerSecond` refilled, twice that held.
    private func take(_ who: String, nowMs: Int64) -> Bool {
        let rate = Double(limits.ratePerSecond), cap = 2 * rate
        return buckets.withLock { b in
            var e = b[who] ?? (cap, nowMs)
            e.tokens = min(cap, e.tokens + Double(max(0, nowMs - e.atMs)) * rate / 1000)
            e.atMs = nowMs
            guard e.tokens >= 1 else {
                b[who] = e
                return false
            }
            e.tokens -= 1
            if b.count > 10_000 { b.removeAll() }  // bounded: senders are keys and rule addresses, few
            b[who] = e
            return true
        }
    }
}

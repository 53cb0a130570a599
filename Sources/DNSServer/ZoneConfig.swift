import ConfigFormat
import DNSForward
import DNSWire

/// Who may transfer a zone: one entry of `allow_transfer`. Each part present must match (Knot's ACL rule):
/// "192.168.10.0/24" (any key or none), "key xfr" (any address), "192.168.10.7 key xfr" (both).
public struct TransferRule: Sendable, Equatable, CustomStringConvertible {
    public var prefix: IPPrefix?
    public var key: DNSName?

    public init?(_ text: String) {
        let words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        switch words.count {
        case 1:
            guard let p = IPPrefix(words[0]) else { return nil }
            prefix = p
        case 2:
            guard words[0] == "key", let k = try? DNSName(words[1].hasSuffix(".") ? words[1] : words[1] + ".") else { return nil }
            key = k
        case 3:
            guard let p = IPPrefix(words[0]), words[1] == "key", let k = try? DNSName(words[2].hasSuffix(".") ? words[2] : words[2] + ".") else { return nil }
            prefix = p
            key = k
        default: return nil
        }
    }

    public var description: String {
        [prefix?.description, key.map { "key \($0)" }].compactMap { $0 }.joined(separator: " ")
    }
}

/// `[zone."NAME."]`: how one served zone is shared with secondaries.
public struct ZoneConfig: Sendable, Equatable {
    public var name: DNSName
    /// allow_transfer: who may AXFR/IXFR it; empty (the default) = nobody.
    public var allowTransfer: [TransferRule] = []
    /// notify: secondaries told of every new serial (RFC 1996), "IP", "IP:PORT" or "[IPv6]:PORT".
    public var notify: [UpstreamServer] = []
    /// notify_key: the TSIG key (from `dnsctl tsig add`) NOTIFY messages are signed with.
    public var notifyKey: DNSName?
    /// primaries: makes the zone a secondary here, copied from these servers ("IP", "IP:PORT") in order.
    public var primaries: [UpstreamServer] = []
    /// tsig: the key transfers from the primaries (and their NOTIFYs) are signed with.
    public var transferKey: DNSName?
    public var isSecondary: Bool { !primaries.isEmpty }
    /// catalog: the zone is a catalog (RFC 9432) whose members become secondary zones here, copied from the
    /// same primaries with the same key.
    public var isCatalog = false
    /// update: who may change what by RFC 2136 UPDATE (`UpdateRule`); empty (the default) = nobody.
    public var updateRules: [UpdateRule] = []
    /// forward_updates: a secondary passes UPDATEs to its primaries (RFC 2136 §6) instead of REFUSED.
    public var forwardUpdates = false

    public init(name: DNSName) { self.name = name }
}

extension ServerConfig {
    static let zoneFields = ["allow_transfer", "notify", "notify_key", "primaries", "tsig", "catalog", "update", "forward_updates"]

    /// Every `[zone."NAME."]` table; errors name the line, the table and the form expected.
    static func parseZones(_ doc: TOMLDocument, file: String, lan: [IPPrefix] = IPPrefix.localDefaults) throws(ConfigError) -> [DNSName: ZoneConfig] {
        var out: [DNSName: ZoneConfig] = [:]
        func line(_ k: String) -> Int { doc.values[k]?.1 ?? 0 }
        func strings(_ key: String, _ what: String) throws(ConfigError) -> [String]? {
            guard let (v, l) = doc.values[key] else { return nil }
            guard case .array(let items) = v else { throw ConfigError("\(file):\(l): '\(key)' must be an array of \(what)") }
            var list: [String] = []
            for i in items {
                guard case .string(let s) = i else { throw ConfigError("\(file):\(l): '\(key)' must be an array of \(what)") }
                list.append(s)
            }
            return list
        }
        for z in doc.quotedSubtables(of: "zone") {
            let prefix = "zone.\"\(z)\"."
            let table = "[zone.\"\(z)\"]"
            for key in doc.values.keys where key.hasPrefix(prefix) {
                let field = String(key.dropFirst(prefix.count))
                guard zoneFields.contains(field) else {
                    throw ConfigError("\(file):\(line(key)): " + TOMLDocument.unknownKeyMessage("zone.\(field)", known: zoneFields.map { "zone.\($0)" }, table: table))
                }
            }
            let at = doc.tables["zone.\"\(z)\""] ?? 0
            guard let name = try? DNSName(z.hasSuffix(".") ? z : z + ".") else { throw ConfigError("\(file):\(at): bad zone name '\(z)' in \(table)") }
            var c = ZoneConfig(name: name)
            for s in try strings(prefix + "allow_transfer", "\"PREFIX\", \"key NAME\" or \"PREFIX key NAME\"") ?? [] {
                guard let rule = TransferRule(s) else {
                    throw ConfigError("\(file):\(line(prefix + "allow_transfer")): bad allow_transfer entry \"\(s)\" in \(table); use \"192.168.10.0/24\", \"key xfr\" or \"192.168.10.7 key xfr\"")
                }
                c.allowTransfer.append(rule)
            }
            for s in try strings(prefix + "notify", "\"IP\" or \"IP:PORT\"") ?? [] {
                guard let u = UpstreamServer(s) else {
                    throw ConfigError("\(file):\(line(prefix + "notify")): bad notify address \"\(s)\" in \(table); use \"192.168.10.7\", \"192.168.10.7:53\" or \"[fd00::7]:53\"")
                }
                c.notify.append(u)
            }
            func keyName(_ field: String) throws(ConfigError) -> DNSName? {
                let text: String?
                do { text = try doc.string(prefix + field) } catch { throw ConfigError(file: file, error) }
                guard let k = text else { return nil }
                guard let n = try? DNSName(k.hasSuffix(".") ? k : k + ".") else {
                    throw ConfigError("\(file):\(line(prefix + field)): bad key name '\(k)' in \(table)")
                }
                return n
            }
            c.notifyKey = try keyName("notify_key")
            c.transferKey = try keyName("tsig")
            for s in try strings(prefix + "primaries", "\"IP\" or \"IP:PORT\"") ?? [] {
                guard let u = UpstreamServer(s), !Secondaries.addressBytes(u).isEmpty else {
                    throw ConfigError("\(file):\(line(prefix + "primaries")): bad primary address \"\(s)\" in \(table); use \"192.168.10.53\", \"192.168.10.53:53\" or \"[fd00::53]:53\"")
                }
                c.primaries.append(u)
            }
            if doc.values[prefix + "primaries"] != nil && c.primaries.isEmpty {
                throw ConfigError("\(file):\(line(prefix + "primaries")): 'primaries' in \(table) is empty; list at least one primary, or remove it to serve the zone as a primary")
            }
            do { c.isCatalog = try doc.boolean(prefix + "catalog") ?? false } catch { throw ConfigError(file: file, error) }
            if c.isCatalog && c.primaries.isEmpty {
                throw ConfigError("\(file):\(line(prefix + "catalog")): \(table) is a catalog to consume, so it needs 'primaries' to copy it from (to publish this server's zones as a catalog, use [catalog] publish)")
            }
            for s in try strings(prefix + "update", "rules such as \"key kea subdomain dhcp.jamfox.dev. A AAAA DHCID\"") ?? [] {
                let rule: UpdateRule
                do { rule = try UpdateRule(s, zone: name) } catch {
                    throw ConfigError("\(file):\(line(prefix + "update")): bad update rule \"\(s)\" in \(table): \(error.message)")
                }
                // Address-only rules reach no further than recursion does: an address outside the LAN never
                // changes a zone without a key.
                if rule.key == nil, let p = rule.from, !lan.contains(where: { $0.covers(p) }) {
                    throw ConfigError("\(file):\(line(prefix + "update")): address-only update rule \"\(s)\" in \(table) reaches outside resolver.allow_recursion; sign updates with a key ('key NAME ...') or narrow 'from' to the LAN")
                }
                c.updateRules.append(rule)
            }
            do { c.forwardUpdates = try doc.boolean(prefix + "forward_updates") ?? false } catch { throw ConfigError(file: file, error) }
            if c.forwardUpdates && c.primaries.isEmpty {
                throw ConfigError("\(file):\(line(prefix + "forward_updates")): 'forward_updates' in \(table) passes UPDATEs to the zone's primaries, but the table has no 'primaries'")
            }
            if !c.updateRules.isEmpty && !c.primaries.isEmpty {
                throw ConfigError("\(file):\(line(prefix + "update")): \(table) is a secondary, whose data comes from its primaries: give the 'update' rules to the primary (and set forward_updates = true here to pass UPDATEs on)")
            }
            if c.transferKey != nil && c.primaries.isEmpty {
                throw ConfigError("\(file):\(line(prefix + "tsig")): 'tsig' in \(table) is the key for transfers from primaries, but the table has no 'primaries'")
            }
            guard out[name.lowercased] == nil else { throw ConfigError("\(file):\(at): zone \(name) has two [zone] tables") }
            out[name.lowercased] = c
        }
        return out
    }
}

/// The transfer decisions of one config: who may transfer which zone. One place, consulted by the pipeline.
struct TransferACL: Sendable {
    struct Compiled: Sendable {
        var matcher: PrefixMatcher?
        var key: DNSName?
    }
    let zones: [DNSName: [Compiled]]
    /// The published catalog's rules: a zone without a [zone] table of its own is one of its members.
    let members: [Compiled]?

    init(_ zones: [DNSName: ZoneConfig], catalog: DNSName? = nil) {
        func compile(_ c: ZoneConfig) -> [Compiled] {
            c.allowTransfer.map { Compiled(matcher: $0.prefix.map { PrefixMatcher([$0]) }, key: $0.key?.lowercased) }
        }
        self.zones = zones.mapValues(compile)
        members = catalog.flatMap { zones[$0] }.map(compile)
    }

    /// True when some rule of the zone matches both the client and the key the request was signed with.
    func allows(_ zone: DNSName, client: IPBits, key: DNSName?) -> Bool {
        guard let rules = zones[zone.lowercased] ?? members else { return false }
        let k = key?.lowercased
        return rules.contains { r in
            (r.matcher?.contains(client) ?? true) && (r.key == nil || r.key == k)
        }
    }
}

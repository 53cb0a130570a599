import DNSWire
import DNSZone

/// A dnsmasq configuration mapped onto JamDNS: local data (`address=`, `host-record=`, `cname=`, `txt-record=`,
/// `srv-host=`, `mx-host=`, `ptr-record=`, `addn-hosts=`) becomes records of one zone and PTRs in its reverse
/// zones; forwarding (`server=`, `rev-server=`) and the policy switches become a jamdns.toml fragment; every
/// line with no equivalent is listed with the reason.
public struct DnsmasqImport: Sendable {
    /// Records of `zone` and of `reverseZones`, and the lines not mapped.
    public var result = ImportResult()
    /// The zone the local data lives in: given, or inferred from the names (nil: nothing to infer from).
    public var zone: DNSName?
    /// How `zone` was chosen, for the user.
    public var zoneReason = ""
    /// Without `local=/zone/`, dnsmasq resolves upstream whatever name or type it has no local data for.
    public var fallthroughMode: Fallthrough = .off
    public var fallthroughReason = ""
    /// /24 and /64 reverse zones holding the PTRs dnsmasq gives hosts-file and `host-record=` addresses.
    public var reverseZones: [DNSName] = []
    /// `server=/name/#` inside the zone: names to resolve upstream (`dnsctl upstream add`).
    public var resolvedUpstream: [DNSName] = []
    /// Names with local records and a `server=/name/#` too: the local records win for their types.
    public var overlaps: [String] = []
    /// The config fragment (TOML), ready to merge into /etc/jamdns/jamdns.toml.
    public var config = ""
}

public enum DnsmasqConfig {
    /// - Parameters:
    ///   - zone: the zone for the local data; nil = inferred (`local=`, `domain=`, else the suffix most names share).
    ///   - readFile: reads `addn-hosts=` files (nil when unreadable).
    public static func parse(_ text: String, file: String, zone given: DNSName?, readFile: (String) -> String?) -> DnsmasqImport {
        var out = DnsmasqImport()
        let lines = contentLines(text, comment: .lineStart)
        let hostsFiles = lines.compactMap { $0.1.hasPrefix("addn-hosts=") ? String($0.1.dropFirst("addn-hosts=".count)).trimmingCharacters(in: " ") : nil }
        var hostsText: [String: String] = [:]
        for f in hostsFiles { hostsText[f] = readFile(f) }
        let localDomains = lines.compactMap { _, l -> DNSName? in
            guard l.hasPrefix("local=/") else { return nil }
            return l.split(separator: "/").dropFirst().first.flatMap { try? DNSName(String($0) + ".") }
        }
        if let given {
            out.zone = given
            out.zoneReason = "given with --zone"
        } else if let (z, why) = inferZone(lines, hosts: Array(hostsText.values), local: localDomains) {
            out.zone = z
            out.zoneReason = why
        }
        guard let zone = out.zone else {
            out.result.notes.append(ImportNote(file: file, line: 0, text: "", reason: "no local names to tell the zone from: say which with --zone"))
            return out
        }
        if localDomains.contains(zone) {
            out.fallthroughMode = .off
            out.fallthroughReason = "local=/\(zone.description.dropLast())/ is set: dnsmasq answered every name under it itself, and so does the zone (authoritative, fallthrough off)"
        } else {
            out.fallthroughMode = .types
            out.fallthroughReason = "no local=/\(zone.description.dropLast())/: dnsmasq sent upstream every name and type under it that it had no local data for, and so does the zone (fallthrough types)"
        }
        map(lines, file: file, zone: zone, hosts: hostsText, into: &out)
        return out
    }

    /// The zone most local names fall in: `local=/X/` or `domain=X` when given, else the suffix (two labels
    /// or more) shared by the most names, `address=/X/` domains included (the wildcard names the zone itself).
    static func inferZone(_ lines: [(Int, String)], hosts: [String], local: [DNSName]) -> (DNSName, String)? {
        if let l = local.first { return (l, "from local=/\(l.description.dropLast())/") }
        for (_, l) in lines where l.hasPrefix("domain=") {
            let v = l.dropFirst("domain=".count).split(separator: ",").first.map { String($0).trimmingCharacters(in: "/ ") } ?? ""
            if let d = try? DNSName(v + "."), d.labelCount >= 1 { return (d, "from domain=\(v)") }
        }
        var names: [DNSName] = []
        var domains: [DNSName] = []
        func add(_ t: String, domain: Bool = false) {
            let t = t.hasSuffix(".") ? String(t.dropLast()) : t
            guard t.contains("."), let n = try? DNSName(t + ".") else { return }
            names.append(n)
            if domain { domains.append(n) }
        }
        for (_, l) in lines {
            guard let eq = l.firstIndex(of: "=") else { continue }
            let key = l[..<eq], value = String(l[l.index(after: eq)...])
            switch key {
            case "address":
                for d in value.split(separator: "/").dropLast() { add(String(d), domain: true) }
            case "host-record", "cname", "txt-record", "srv-host", "mx-host":
                for p in value.split(separator: ",") where IPv4Address(String(p)) == nil && IPv6Address(String(p)) == nil && UInt32(p) == nil {
                    add(String(p).trimmingCharacters(in: " "))
                    if key != "host-record" && key != "cname" { break }
                }
            default: break
            }
        }
        for h in hosts { for (_, l) in contentLines(h) { for w in l.words.dropFirst() { add(w) } } }
        var count: [DNSName: Int] = [:]
        for n in names {
            var s = domains.contains(n) ? n : n.parent
            while let c = s, c.labelCount >= 2 {
                count[c, default: 0] += 1
                s = c.parent
            }
        }
        guard let best = count.max(by: { $0.value != $1.value ? $0.value < $1.value : $0.key.labelCount > $1.key.labelCount }) else { return nil }
        return (best.key, "inferred: \(best.value) of the \(names.count) local names are under it")
    }

    static func map(_ lines: [(Int, String)], file: String, zone: DNSName, hosts: [String: String], into out: inout DnsmasqImport) {
        var upstreams: [String] = []
        var forwards: [(String, [String])] = []
        var resolver: [(String, String)] = []
        var listen: [String] = []
        var port = 53
        var log: [(String, String)] = []
        var serverComments: [String] = []
        var ttl: UInt32 = 0  // dnsmasq's local-ttl default: answers from its own data carry TTL 0
        var noResolv = false
        var hostRecordAddresses: [ResourceRecord] = []
        var hostsAddresses: [ResourceRecord] = []
        var pointers: [ResourceRecord] = []
        func note(_ n: Int, _ line: String, _ why: String) { out.result.notes.append(ImportNote(file: file, line: n, text: line, reason: why)) }
        func addForward(_ zoneName: String, _ server: String) {
            let z = zoneName.hasSuffix(".") ? zoneName : zoneName + "."
            if let i = forwards.firstIndex(where: { $0.0 == z }) { forwards[i].1.append(server) } else { forwards.append((z, [server])) }
        }
        // local-ttl applies to every record wherever it appears: read it first.
        for (_, line) in lines where line.hasPrefix("local-ttl=") {
            if let v = UInt32(line.dropFirst("local-ttl=".count)) { ttl = v }
        }
        for (n, line) in lines {
            let key: String, value: String
            if let eq = line.firstIndex(of: "=") {
                key = String(line[..<eq]).trimmingCharacters(in: " ")
                value = String(line[line.index(after: eq)...]).trimmingCharacters(in: " ")
            } else {
                key = line
                value = ""
            }
            switch key {
            case "address":
                // address=/a/b/IP: the names and everything under them.
                let parts = value.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                guard parts.count >= 3, parts.first == "" else { note(n, line, "expected address=/name/address"); continue }
                let ip = parts.last!
                guard !ip.isEmpty, ip != "#" else { note(n, line, "blocking (NXDOMAIN or 0.0.0.0 for a domain) is not a JamDNS feature"); continue }
                for name in parts.dropFirst().dropLast() where !name.isEmpty {
                    guard let o = owner(name, zone: zone), let exact = addressRecord(o, ip, ttl: ttl),
                          let wild = addressRecord(try! DNSName("*", origin: o), ip, ttl: ttl) else {
                        note(n, line, "\(name) is outside zone \(zone) or \(ip) is not an address")
                        continue
                    }
                    out.result.records += [exact, wild]
                }
            case "host-record":
                // host-record=name[,name...][,IPv4][,IPv6][,TTL]
                let parts = value.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }
                var names: [String] = [], ips: [String] = []
                var recTTL = ttl
                for p in parts {
                    if IPv4Address(p) != nil || IPv6Address(p) != nil { ips.append(p) } else if let t = UInt32(p), p == parts.last { recTTL = t } else { names.append(p) }
                }
                guard !names.isEmpty, !ips.isEmpty else { note(n, line, "expected host-record=NAME[,NAME...],ADDRESS[,ADDRESS][,TTL]"); continue }
                for name in names {
                    guard let o = owner(name, zone: zone) else { note(n, line, "\(name) is outside zone \(zone)"); continue }
                    for ip in ips {
                        if let r = addressRecord(o, ip, ttl: recTTL) {
                            out.result.records.append(r)
                            hostRecordAddresses.append(r)
                        }
                    }
                }
            case "cname":
                // cname=ALIAS[,ALIAS...],TARGET[,TTL]
                var parts = value.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }
                var recTTL = ttl
                if let last = parts.last, let t = UInt32(last) { recTTL = t; parts.removeLast() }
                guard parts.count >= 2, let target = try? DNSName(parts.last!.hasSuffix(".") ? parts.last! : parts.last! + ".") else {
                    note(n, line, "expected cname=ALIAS,TARGET"); continue
                }
                for alias in parts.dropLast() {
                    guard let o = owner(alias, zone: zone) else { note(n, line, "\(alias) is outside zone \(zone)"); continue }
                    out.result.records.append(ResourceRecord(name: o, type: .cname, ttl: recTTL, rdata: .cname(target)))
                }
            case "ptr-record":
                // ptr-record=REVERSE-NAME[,TARGET]: into the reverse zone of the address.
                let parts = value.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }
                guard parts.count == 2, let o = try? DNSName(parts[0].hasSuffix(".") ? parts[0] : parts[0] + "."),
                      let target = try? DNSName(parts[1].hasSuffix(".") ? parts[1] : parts[1] + "."),
                      ReversePointers.zone(of: o) != nil || o.isSubdomain(of: zone) else {
                    note(n, line, "expected ptr-record=REVERSE-NAME,TARGET for a whole IPv4 or IPv6 address (or a name in \(zone))")
                    continue
                }
                pointers.append(ResourceRecord(name: o, type: .ptr, ttl: ttl, rdata: .ptr(target)))
            case "txt-record", "srv-host", "mx-host":
                guard let r = mapRecord(key, value, zone: zone, ttl: ttl) else { note(n, line, "outside zone \(zone) or not understood"); continue }
                out.result.records.append(r)
            case "addn-hosts":
                guard let text = hosts[value] ?? nil else { note(n, line, "cannot read \(value); import it with 'dnsctl import hosts'"); continue }
                let h = HostsFile.parse(text, file: value, zone: zone, ttl: ttl)
                out.result.records += h.records
                hostsAddresses += h.records
                out.result.notes += h.notes
            case "server":
                if value.hasPrefix("/") {
                    // server=/domain[/domain...]/[IP[#PORT]]
                    let parts = value.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                    guard parts.count >= 3 else { note(n, line, "expected server=/domain/address[#port]"); continue }
                    let target = parts.last!
                    for d in parts.dropFirst().dropLast() where !d.isEmpty {
                        if target.isEmpty || target == "#" {
                            // "#" = the normal upstreams; empty = local only.
                            guard target == "#", let name = try? DNSName(d.hasSuffix(".") ? d : d + ".") else { note(n, line, "local-only domains are served as zones: dnsctl zone add \(d)"); continue }
                            if name.isSubdomain(of: zone) {
                                if !out.resolvedUpstream.contains(name) { out.resolvedUpstream.append(name) }
                            } else { note(n, line, "\(d) already goes to the upstreams") }
                        } else if serverAddress(target) != nil {
                            addForward(d, target)
                        } else {
                            note(n, line, "'\(target)' is not IP[#PORT]")
                        }
                    }
                } else if serverAddress(value) != nil {
                    upstreams.append(value)
                } else {
                    note(n, line, "'\(value)' is not IP[#PORT] (interface-bound servers are not supported)")
                }
            case "rev-server":
                // rev-server=PREFIX/LEN,IP[#PORT]
                let parts = value.split(separator: ",").map { String($0).trimmingCharacters(in: " ") }
                guard parts.count == 2, let zoneName = reverseZone(parts[0]), serverAddress(parts[1]) != nil else {
                    note(n, line, "only IPv4 prefixes of /8, /16 or /24 with one IP[#PORT] server map to a forward zone")
                    continue
                }
                addForward(zoneName, parts[1])
            case "domain-needed": resolver.append(("domain_needed", "true"))
            case "bogus-priv": resolver.append(("bogus_priv", "true"))
            case "no-resolv": noResolv = true
            case "cache-size":
                guard let v = Int(value), v > 0 else { note(n, line, "cache-size must be a positive number here (JamDNS always caches)"); continue }
                resolver.append(("cache_size", "\(v)"))
            case "min-cache-ttl": if let v = Int(value) { resolver.append(("cache_min_ttl", "\(v)")) } else { note(n, line, "not a number") }
            case "max-cache-ttl": if let v = Int(value) { resolver.append(("cache_max_ttl", "\(v)")) } else { note(n, line, "not a number") }
            case "neg-ttl", "max-ttl": note(n, line, "no direct equivalent: negative answers use the SOA (RFC 2308), capped by resolver.negative_max_ttl")
            case "no-negcache": resolver.append(("negative_max_ttl", "0"))
            case "local-ttl": break  // read above
            case "listen-address":
                for a in value.split(separator: ",") { listen.append(String(a).trimmingCharacters(in: " ")) }
            case "port":
                guard let p = Int(value), (1...65535).contains(p) else { note(n, line, "not a port"); continue }
                port = p
            case "log-queries": log.append(("query_log", "\"-\""))
            case "local":
                let d = value.split(separator: "/").first.map(String.init) ?? ""
                if (try? DNSName(d + ".")) != zone { note(n, line, "local-only domains are JamDNS zones: dnsctl zone add \(d)") }
            case "local-service":
                serverComments.append("""
                    # local-service: dnsmasq answered only clients on its own subnets. resolver.allow_recursion (default:
                    # loopback, RFC 1918, RFC 6598, link-local, ULA) limits recursion the same way; to refuse even the
                    # lab's own names to other networks, list the subnets here:
                    # allow_query = ["192.168.10.0/24", "127.0.0.0/8", "::1/128"]
                    """)
            case "dnssec", "dnssec-check-unsigned", "trust-anchor", "proxy-dnssec":
                note(n, line, "DNSSEC validation is lost: jamdns does not validate (AD is always clear); keep a validating resolver such as Unbound as the upstream if you need it")
            case "no-poll", "clear-on-reload", "no-hosts":
                note(n, line, "nothing to map: jamdns reads no resolv.conf or /etc/hosts, and its cache is kept across reloads on purpose")
            case "conf-file", "conf-dir":
                note(n, line, "included files are not followed: import each one")
            case "interface", "except-interface", "bind-interfaces", "bind-dynamic":
                note(n, line, "JamDNS binds addresses, not interfaces: put the interface's address in server.listen")
            case "expand-hosts", "domain":
                if key == "domain", (try? DNSName(value.trimmingCharacters(in: "/ ") + ".")) == zone { continue }
                note(n, line, "names are always imported fully qualified under zone \(zone)")
            default:
                note(n, line, key.hasPrefix("dhcp") ? "DHCP stays with your DHCP server (JamDNS is DNS only)" : "no JamDNS equivalent")
            }
        }
        // PTRs as dnsmasq makes them: host-record= is read before the hosts files, first address and name win.
        pointers += ReversePointers.make(hostRecordAddresses + hostsAddresses)
        var reverse: [DNSName] = []
        for p in pointers {
            if let z = ReversePointers.zone(of: p.name), !reverse.contains(z) { reverse.append(z) }
        }
        out.reverseZones = reverse
        out.result.records += pointers
        for name in out.resolvedUpstream {
            let own = out.result.records.filter { $0.name == name }
            if !own.isEmpty {
                out.overlaps.append("\(name) has local \(Set(own.map(\.type)).sorted().map(\.description).joined(separator: "/")) and server=/\(name.description.dropLast())/#: as in dnsmasq, its own records win for their types and other types go upstream")
            }
        }
        var toml = "# Mapped from \(file) by dnsctl import dnsmasq. Merge into /etc/jamdns/jamdns.toml.\n"
        if !listen.isEmpty {
            let addrs = listen.map { $0.contains(":") ? "\"[\($0)]:\(port)\"" : "\"\($0):\(port)\"" }
            toml += "\n[server]\nlisten = [\(addrs.joined(separator: ", "))]\n"
        } else {
            toml += "\n# dnsmasq listened on port \(port) of every interface: list the LAN address and loopback\n[server]\nlisten = [\"127.0.0.1:\(port)\"]\n"
        }
        for c in serverComments { toml += c + "\n" }
        if !log.isEmpty { toml += "\n[log]\n" + log.map { "\($0.0) = \($0.1)\n" }.joined() }
        toml += "\n[resolver]\n"
        if !upstreams.isEmpty {
            toml += "upstreams = [\(upstreams.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        } else if !noResolv {
            toml += "# dnsmasq took its upstreams from /etc/resolv.conf: name them here\n# upstreams = [\"192.168.10.1\"]\n"
        }
        for (k, v) in resolver { toml += "\(k) = \(v)\n" }
        // Consul's servers: those of consul., or anything on its DNS port (rev-server= usually points there too).
        let consul = Set(forwards.first { $0.0 == "consul." }?.1 ?? [])
        for (z, servers) in forwards {
            toml += "\n[forward.\"\(z)\"]\nservers = [\(servers.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
            if z == "consul." || servers.contains(where: { $0.hasSuffix("#8600") || consul.contains($0) }) {
                // Consul's answers have TTL 0 and must never outlive a dead Consul (dnsmasq never serves stale).
                toml += "# Consul: its answers are live state; never cache them or serve them stale\ncache = false\nserve_stale = false\n"
            }
        }
        out.config = toml
    }

    /// `IP` or `IP#PORT` (dnsmasq's syntax), IPv4 or IPv6.
    static func serverAddress(_ s: String) -> String? {
        // dnsmasq writes a bare address, then #PORT: no brackets, no ":PORT".
        let bare = String(s.split(separator: "#", omittingEmptySubsequences: false)[0])
        guard IPv4Address(bare) != nil || IPv6Address(bare) != nil, let hp = HostPort(s, defaultPort: 53, hashPort: true), hp.port != 0 else { return nil }
        return s
    }

    /// 192.168.10.0/24 → 10.168.192.in-addr.arpa. (octet-aligned IPv4 prefixes only).
    static func reverseZone(_ prefix: String) -> String? {
        let parts = prefix.split(separator: "/")
        guard parts.count == 2, let v4 = IPv4Address(String(parts[0])), let len = Int(parts[1]), [8, 16, 24].contains(len) else { return nil }
        return v4.bytes.prefix(len / 8).reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa."
    }

    static func mapRecord(_ key: String, _ value: String, zone: DNSName, ttl: UInt32) -> ResourceRecord? {
        let parts = value.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingCharacters(in: " ") }
        guard let first = parts.first, let o = owner(first, zone: zone) else { return nil }
        func fq(_ s: String) -> String { s.hasSuffix(".") ? s : s + "." }
        switch key {
        case "txt-record":
            // txt-record=name,"text"[,"text"...]
            let texts = parts.dropFirst().map { $0.hasPrefix("\"") ? $0 : "\"\($0)\"" }
            return texts.isEmpty ? nil : parsedRecord(o, .txt, texts.joined(separator: " "), ttl: ttl, zone: zone)
        case "srv-host":
            // srv-host=_svc._proto.name[,target[,port[,priority[,weight]]]]
            guard parts.count >= 3 else { return nil }
            let target = fq(parts[1]), port = parts[2]
            let prio = parts.count > 3 ? parts[3] : "0", weight = parts.count > 4 ? parts[4] : "0"
            return parsedRecord(o, .srv, "\(prio) \(weight) \(port) \(target)", ttl: ttl, zone: zone)
        case "mx-host":
            // mx-host=name[,target[,preference]]
            let target = parts.count > 1 ? fq(parts[1]) : o.description
            let pref = parts.count > 2 ? parts[2] : "1"
            return parsedRecord(o, .mx, "\(pref) \(target)", ttl: ttl, zone: zone)
        case "ptr-record":
            guard parts.count >= 2 else { return nil }
            return parsedRecord(o, .ptr, fq(parts[1]), ttl: ttl, zone: zone)
        default:
            return nil
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String { Substring(self).trimmingCharacters(set) }
}

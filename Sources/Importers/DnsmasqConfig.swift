import DNSWire

/// A dnsmasq configuration mapped onto JamDNS: local data (`address=`, `host-record=`, `cname=`, `txt-record=`,
/// `srv-host=`, `mx-host=`, `ptr-record=`, `addn-hosts=`) becomes records of one zone; forwarding
/// (`server=`, `rev-server=`) and the policy switches become a jamdns.toml fragment; every line with no
/// equivalent is listed with the reason.
public struct DnsmasqImport: Sendable {
    public var result = ImportResult()
    /// `server=/name/#` inside the zone: names to resolve upstream (`dnsctl upstream add`).
    public var resolvedUpstream: [DNSName] = []
    /// The config fragment (TOML), ready to merge into /etc/jamdns/jamdns.toml.
    public var config = ""
}

public enum DnsmasqConfig {
    /// - Parameter readFile: reads `addn-hosts=` files (nil when unreadable).
    public static func parse(_ text: String, file: String, zone: DNSName, readFile: (String) -> String?) -> DnsmasqImport {
        var out = DnsmasqImport()
        var upstreams: [String] = []
        var forwards: [(String, [String])] = []
        var resolver: [(String, String)] = []
        var listen: [String] = []
        var port = 53
        var log: [(String, String)] = []
        var ttl: UInt32 = 0  // dnsmasq's local-ttl default: answers from its own data carry TTL 0
        var noResolv = false
        var sawTTL = false
        func note(_ n: Int, _ line: String, _ why: String) { out.result.notes.append(ImportNote(file: file, line: n, text: line, reason: why)) }
        func addForward(_ zoneName: String, _ server: String) {
            let z = zoneName.hasSuffix(".") ? zoneName : zoneName + "."
            if let i = forwards.firstIndex(where: { $0.0 == z }) { forwards[i].1.append(server) } else { forwards.append((z, [server])) }
        }
        let lines = contentLines(text, comment: .lineStart)
        // local-ttl applies to every record wherever it appears: read it first.
        for (_, line) in lines where line.hasPrefix("local-ttl=") {
            if let v = UInt32(line.dropFirst("local-ttl=".count)) { ttl = v; sawTTL = true }
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
                    for ip in ips { if let r = addressRecord(o, ip, ttl: recTTL) { out.result.records.append(r) } }
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
                    out.result.records.append(ResourceRecord(name: o, type: .cname, ttl: recTTL, rdata: .name(target)))
                }
            case "txt-record", "srv-host", "mx-host", "ptr-record":
                guard let r = mapRecord(key, value, zone: zone, ttl: ttl) else { note(n, line, "outside zone \(zone) or not understood"); continue }
                out.result.records.append(r)
            case "addn-hosts":
                guard let hosts = readFile(value) else { note(n, line, "cannot read \(value); import it with 'dnsctl import hosts'"); continue }
                let h = HostsFile.parse(hosts, file: value, zone: zone, ttl: ttl)
                out.result.records += h.records
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
                            if name.isSubdomain(of: zone) { out.resolvedUpstream.append(name) } else { note(n, line, "\(d) already goes to the upstreams") }
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
                note(n, line, "local-only domains are JamDNS zones: dnsctl zone add \(value.split(separator: "/").first ?? "")")
            case "conf-file", "conf-dir":
                note(n, line, "included files are not followed: import each one")
            case "interface", "except-interface", "bind-interfaces", "bind-dynamic":
                note(n, line, "JamDNS binds addresses, not interfaces: put the interface's address in server.listen")
            case "expand-hosts", "domain":
                note(n, line, "names are always imported fully qualified under zone \(zone)")
            default:
                note(n, line, key.hasPrefix("dhcp") ? "DHCP stays with your DHCP server (JamDNS is DNS only)" : "no JamDNS equivalent")
            }
        }
        if !sawTTL && !out.result.records.isEmpty {
            // dnsmasq gives its own records TTL 0 unless local-ttl says otherwise; a cacheable TTL is kinder to
            // clients and changes nothing about the answers.
            for i in out.result.records.indices { out.result.records[i].ttl = 300 }
        }
        var toml = "# Mapped from \(file) by dnsctl import dnsmasq. Merge into /etc/jamdns/jamdns.toml.\n"
        if !listen.isEmpty {
            let addrs = listen.map { $0.contains(":") ? "\"[\($0)]:\(port)\"" : "\"\($0):\(port)\"" }
            toml += "\n[server]\nlisten = [\(addrs.joined(separator: ", "))]\n"
        } else if port != 53 {
            toml += "\n# dnsmasq listened on port \(port) on every interface: list the addresses here\n[server]\nlisten = [\"127.0.0.1:\(port)\"]\n"
        }
        if !log.isEmpty { toml += "\n[log]\n" + log.map { "\($0.0) = \($0.1)\n" }.joined() }
        toml += "\n[resolver]\n"
        if !upstreams.isEmpty {
            toml += "upstreams = [\(upstreams.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        } else if !noResolv {
            toml += "# dnsmasq took its upstreams from /etc/resolv.conf: name them here\n# upstreams = [\"192.168.10.1\"]\n"
        }
        for (k, v) in resolver { toml += "\(k) = \(v)\n" }
        for (z, servers) in forwards {
            toml += "\n[forward.\"\(z)\"]\nservers = [\(servers.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        }
        out.config = toml
        return out
    }

    /// `IP` or `IP#PORT` (dnsmasq's syntax), IPv4 or IPv6.
    static func serverAddress(_ s: String) -> String? {
        let parts = s.split(separator: "#", omittingEmptySubsequences: false)
        guard parts.count <= 2, IPv4Address(String(parts[0])) != nil || IPv6Address(String(parts[0])) != nil else { return nil }
        if parts.count == 2 { guard let p = Int(parts[1]), (1...65535).contains(p) else { return nil } }
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

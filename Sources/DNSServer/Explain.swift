import DNSCache
import DNSWire
import DNSZone

extension Resolver {
    /// The resolver's part of `dnsctl explain`: the policy or forward rule that applies to a client on the LAN,
    /// the servers it would ask (with their health), and what the cache holds for the name.
    /// `forward`: the forward zone the route table found for the name.
    public func explain(_ name: DNSName, _ type: RRType, forward: Int?) -> [String] {
        var out: [String] = []
        let q = Question(name: name, type: type, qclass: .in)
        switch route(q, client: [127, 0, 0, 1], forward: forward) {
        case .refuse(_, let text):
            out.append("REFUSED: \(text)")
        case .nxDomain(let text):
            out.append("NXDOMAIN without asking anyone: \(text)")
        case .forward(let zone):
            let z = zoneNames[zone]
            let rule = z.isRoot ? "resolver.upstreams (the default)" : "[forward.\"\(z)\"]"
            out.append("forwarded by \(rule), cache \(policies[zone].enabled ? "on" : "off")\(staleAllowed[zone] ? ", stale answers allowed" : "")")
            for h in upstreamHealth() where h.zone == z.description {
                out.append("  " + h.summary)
            }
        }
        if !config.allowRecursion.isEmpty {
            out.append("recursion is offered to \(config.allowRecursion.map(\.description).joined(separator: " ")); others get REFUSED")
        }
        let cached = cacheLines(for: name)
        out += cached.isEmpty ? ["cache: nothing for \(name)"] : cached.map { "cache: " + $0 }
        return out
    }
}

/// `explain NAME [TYPE]` over the control socket: the served zones first, then the resolver.
func explainText(_ name: DNSName, _ type: RRType, catalog: Catalog, policy: Policy) -> String {
    var out = ["\(name) \(type)"]
    let (decision, lines) = policy.routes(for: catalog).explainDecision(name, type, resolverAvailable: policy.resolver != nil)
    out += lines
    switch decision {
    case .answer:
        break
    case .resolve(_, _, let forward):
        if let r = policy.resolver { out += r.explain(name, type, forward: forward) }
    case .outside(let forward):
        if let r = policy.resolver {
            out.append("no served zone contains \(name)")
            out += r.explain(name, type, forward: forward)
        } else {
            out.append("no served zone contains \(name) and no resolver is configured: REFUSED (EDE 20, not authoritative)")
        }
    }
    if let acl = policy.allowQuery { out.append("allow_query: only \(acl.entries.count) configured prefix(es) may ask at all") }
    return out.joined(separator: "\n") + "\n"
}

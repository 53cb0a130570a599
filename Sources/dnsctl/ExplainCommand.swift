import ArgumentParser
import DNSStore
import DNSWire
import DNSZone

/// `dnsctl explain NAME [TYPE]`: why a name resolves the way it does. The running server answers over its
/// control socket (zones as served, forward rules, upstream health, cache); without a running server the
/// store's zones are explained and the resolver's part is said to be unknown.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "Say which zone, record, wildcard, forward rule, upstream or cache entry answers NAME.")
    @OptionGroup var socket: CacheCommand.SocketOption
    @Argument(help: "The name, e.g. grafana.jamfox.dev") var name: String
    @Argument(help: "The type (default A).") var type: String = "A"

    func run() throws {
        let t = try parseType(type)
        let n = try absolute(name)
        var lines: [String]
        let live: Bool
        if let text = try askText(socket.path, "explain \(n) \(t)") {
            lines = text.trimmingCharacters().split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            live = true
        } else {
            live = false
            // No server: the same decision the server takes (Catalog.decide), from the store and the config.
            let store = try socket.store.open(readOnly: true)
            let (catalog, _) = try store.loadCatalog(generation: 0)
            let settings = try socket.store.settings()
            let resolver = settings.resolverConfigured
            lines = ["\(n) \(t)  (jamdns is not running at \(socket.path): from the store \(socket.store.path)"
                     + (settings.file.map { " and \($0)" } ?? "") + "; upstream health and cache not shown)"]
            let routes = RouteTable(catalog: catalog, forwardZones: settings.forwardZones)
            let (decision, zoneLines) = routes.explainDecision(n, t, resolverAvailable: resolver)
            lines += zoneLines
            func rule(_ forward: Int?) -> String {
                guard let f = forward else { return "no forward zone or upstream holds it: REFUSED (EDE 20, not authoritative)" }
                let z = settings.forwardZones[f]
                return z.isRoot ? "the resolver answers it through resolver.upstreams (the default)" : "the resolver answers it through [forward.\"\(z)\"]"
            }
            switch decision {
            case .answer: break
            case .resolve(_, _, let forward): lines.append(rule(forward))
            case .outside(let forward):
                lines.append(resolver ? "no served zone contains \(n): " + rule(forward)
                                      : "no served zone contains \(n) and no resolver is configured\(settings.file == nil ? " (no config found: pass --config)" : ""): REFUSED (EDE 20, not authoritative)")
            }
        }
        // Who changed the records at the name last: the store knows, whether or not the server runs.
        if let store = try? socket.store.open(readOnly: true), let zone = try? store.zone(containing: n),
           let rows = try? store.sources(zone: zone, at: n) {
            for (r, source, at) in rows where r.type == t || t == .any || r.type == .cname {
                lines.append("record \(r.name) \(r.ttl) \(r.type) \(r.rdata.presentation): "
                             + (source.map { "last changed by \($0) at \(utcTime(at ?? 0))" } ?? "from the zone's data (a zone file, an import or a transfer)"))
            }
        }
        if socket.store.json {
            say(JSON.object([("name", .string(n.description)), ("type", .string(t.description)), ("from", .string(live ? "server" : "store")),
                             ("lines", .array(lines.map { .string($0) }))]).text)
        } else {
            for l in lines { say(l) }
        }
    }
}

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
        if let text = try askText(socket.path, "explain \(n) \(t)") {
            say(text.trimmingCharacters())
            return
        }
        // No server: what the store would serve.
        let store = try socket.store.open()
        let (catalog, _) = try store.loadCatalog(generation: 0)
        say("\(n) \(t)  (jamdns is not running at \(socket.path): from the store \(socket.store.path); forwarding and cache not shown)")
        if let lines = catalog.isResolvedUpstream(n) ? nil : catalog.explain(n, t) {
            for l in lines { say(l) }
        } else {
            say("no served zone answers \(n): the server forwards it if a resolver is configured, else REFUSED")
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DNSStore
import SystemIO

/// `dnsctl cache`: talks to the running jamdns over its Unix control socket.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache", abstract: "Flush or inspect the running server's cache (over its control socket).",
        subcommands: [Flush.self, Show.self, Stats.self])

    struct SocketOption: ParsableArguments {
        @Option(name: .long, help: "The server's control socket (default: $JAMDNS_CONTROL, else server.control_socket of the server's config, else jamdns.ctl beside the store, as the server does).")
        var socket: String?
        @OptionGroup var store: GlobalOptions

        var path: String {
            if let socket { return socket }
            if let env = getenv("JAMDNS_CONTROL") { return String(cString: env) }
            if let s = try? store.settings(), let c = s.controlSocket, !c.isEmpty { return c }
            return ZoneStore.defaultControlSocket(forStore: store.path)
        }
    }

    struct Flush: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop every cached answer, or those for NAME.")
        @OptionGroup var socket: SocketOption
        @Argument var name: String?
        func run() throws { try ask(socket.path, "flush" + (name.map { " " + $0 } ?? ""), json: socket.store.json) }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show what the cache holds for NAME.")
        @OptionGroup var socket: SocketOption
        @Argument var name: String
        func run() throws { try ask(socket.path, "show " + name, json: socket.store.json) }
    }

    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cache and forwarder counters.")
        @OptionGroup var socket: SocketOption
        func run() throws { try ask(socket.path, "stats", json: socket.store.json) }
    }
}

/// One request, one answer; "error: ..." answers exit 1. With `json`, one document: the reply's lines, and
/// each line's `key=value` words as an object (the counters of `stats`, the health of each upstream).
func ask(_ path: String, _ request: String, json: Bool = false) throws {
    guard let text = try askText(path, request) else {
        throw Rejected("cannot reach jamdns at \(path): \(String(cString: strerror(errno))) (is it running? pass --socket or set JAMDNS_CONTROL)")
    }
    guard json else {
        _ = text.withCString { write(1, $0, strlen($0)) }
        return
    }
    let lines = text.split(separator: "\n").map(String.init)
    say(JSON.object([
        ("request", .string(request)),
        ("lines", .array(lines.map { .string($0) })),
        ("values", .array(lines.map { line in
            .object(line.split(separator: " ").compactMap { w -> (String, JSON)? in
                guard let eq = w.firstIndex(of: "="), eq != w.startIndex else { return nil }
                let v = String(w[w.index(after: eq)...])
                return (String(w[..<eq]), Int64(v).map { .number($0) } ?? .string(v))
            })
        })),
    ]).text)
}

/// The server's answer to one request; nil when nothing listens on `path` (errno says why).
func askText(_ path: String, _ request: String) throws -> String? {
    let reply: String?
    do { reply = try ControlClient.ask(path, request) } catch { throw Rejected(error.message) }
    guard let text = reply else { return nil }
    if text.hasPrefix("error: ") { throw Rejected(String(text.dropFirst(7)).trimmingCharacters()) }
    return text
}

extension String {
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DNSStore

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
    let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Rejected("socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    let bytes = Array(path.utf8)
    guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else { throw Rejected("control socket path too long: \(path)") }
    withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in bytes.enumerated() { p[i] = b } }
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
    guard rc == 0 else { return nil }
    let line = request + "\n"
    _ = line.withCString { write(fd, $0, strlen($0)) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        out += buf[0..<n]
        if out.count > 1 << 20 { break }
    }
    let text = String(decoding: out, as: UTF8.self)
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

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DNSStore
import DNSWire
import DNSZone
import ConfigFormat
import JamVersion

/// A request the store refused: printed as one line, exit status 1.
struct Rejected: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "SQLite store (default: $JAMDNS_DB, else store.path in the server's config, else ./jamdns.sqlite, as the server).")
    var db: String?

    @Option(name: .long, help: "The server's config, read for store.path and server.control_socket (default: $JAMDNS_CONFIG, else /etc/jamdns/jamdns.toml when it exists).")
    var config: String?

    @Flag(name: .long, help: "Machine-readable JSON output.")
    var json = false

    /// What the server's config says (its path and keys), when there is one.
    func settings() throws -> ServerSettings {
        do { return try ServerSettings.find(explicit: config) } catch let e as ServerSettings.Failure { throw Rejected(e.description) }
    }

    /// The store's path and where it came from, so an error can say which setting to fix.
    func location() throws -> (path: String, from: String) {
        if let db { return (db, "--db") }
        if let env = getenv("JAMDNS_DB") { return (String(cString: env), "$JAMDNS_DB") }
        let s = try settings()
        if let p = s.storePath, let file = s.file { return (p, "store.path in \(file)") }
        if let file = s.file { return ("jamdns.sqlite", "the default (\(file) sets no store.path)") }
        return ("jamdns.sqlite", "the default")
    }

    var path: String { (try? location().path) ?? "jamdns.sqlite" }

    /// Opens the store. Only commands that make zones (`zone add`, imports, `restore`) pass `create`; every
    /// other command needs an existing store and says where it looked. Read-only commands pass `readOnly`, so
    /// a user who may read but not write the store can still list, export and explain.
    func open(create: Bool = false, readOnly: Bool = false, announce: Bool = true) throws -> ZoneStore {
        let (path, from) = try location()
        let exists = access(path, F_OK) == 0
        if !exists && !create {
            throw Rejected("no store at \(path) (from \(from)); create one with 'dnsctl zone add NAME' or an import, or point at the server's with --db or --config")
        }
        do {
            let store = try ZoneStore(path: path, readOnly: readOnly && exists)
            if !exists && announce { note("created the store \(path) (from \(from))") }
            if let fixed = store.modeTightened { note(fixed) }
            return store
        } catch { throw Rejected(error.description) }
    }

    /// Runs `body` on the store, creating it if missing. A store created here is removed again when `body`
    /// fails, or when it is not to be kept (a dry run): an import that reads its input while writing leaves
    /// no empty store behind.
    func withCreatedStore<T>(keep: Bool = true, _ body: (ZoneStore) throws -> T) throws -> T {
        let (path, from) = try location()
        guard access(path, F_OK) != 0 else { return try body(try open(create: true)) }
        // The connection is closed by the time the files go (nothing else holds the store).
        func remove() { for p in [path, path + "-wal", path + "-shm"] { unlink(p) } }
        do {
            let out = try body(try open(create: true, announce: false))
            if keep { note("created the store \(path) (from \(from))") } else { remove() }
            return out
        } catch {
            remove()
            throw error
        }
    }
}

/// The few keys of the server's config (jamdns.toml) dnsctl needs to find what the server uses.
struct ServerSettings {
    var file: String?
    var storePath: String?
    var controlSocket: String?
    /// The resolver's forward zones as the server orders them ("." last, for `resolver.upstreams`); empty:
    /// no resolver, names outside the zones are REFUSED.
    var forwardZones: [DNSName] = []
    /// Upstreams or forward zones are configured: the server resolves what its zones hand over.
    var resolverConfigured: Bool { !forwardZones.isEmpty }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static let systemConfig = "/etc/jamdns/jamdns.toml"

    /// `explicit` (--config), else $JAMDNS_CONFIG, else the system config when it exists; none is no error.
    static func find(explicit: String?) throws -> ServerSettings {
        var file = explicit
        if file == nil, let env = getenv("JAMDNS_CONFIG") { file = String(cString: env) }
        if file == nil, access(systemConfig, R_OK) == 0 { file = systemConfig }
        guard let file else { return ServerSettings() }
        guard let bytes = try? ZoneFiles.read(file) else {
            throw Failure(description: "cannot read the server's config \(file): \(String(cString: strerror(errno)))")
        }
        do {
            let doc = try TOMLDocument.parse(String(decoding: bytes, as: UTF8.self))
            var s = ServerSettings(file: file)
            s.storePath = try doc.string("store.path")
            s.controlSocket = try doc.string("server.control_socket")
            // Unreadable names are the server's to report (check-config); explain leaves them out.
            s.forwardZones = doc.quotedSubtables(of: "forward").compactMap { try? DNSName($0) }
            if !(try doc.strings("resolver.upstreams") ?? []).isEmpty { s.forwardZones.append(.root) }
            return s
        } catch {
            throw Failure(description: "\(file):\(error.line): \(error.message)")
        }
    }
}

@main
struct Dnsctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dnsctl",
        abstract: "Edit the zones and records jamdns serves. Every edit is one transaction and bumps the zone's SOA serial; the running server picks it up within a second.",
        version: JamVersion.line("dnsctl"),
        subcommands: [ZoneCommand.self, RecordCommand.self, ImportCommand.self, ExplainCommand.self, UpstreamCommand.self, TSIGCommand.self, CacheCommand.self,
                      BackupCommand.self, RestoreCommand.self])

    /// Exit codes: 0 success, 1 rejected request (one line on stderr), 2 bad usage.
    static func main() {
        do {
            var cmd = try parseAsRoot(hoistGlobalOptions(Array(CommandLine.arguments.dropFirst())))
            try cmd.run()
        } catch let r as Rejected {
            fail("dnsctl: \(r.description)", code: 1)
        } catch let e as StoreError {
            fail("dnsctl: \(e.description)", code: 1)
        } catch let e as ZoneParseError {
            fail("dnsctl: \(e.description)", code: 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success || code == ExitCode(1) { exit(withError: error) }
            let msg = fullMessage(for: error)
            fail(msg, code: 2)
        }
    }

    /// `dnsctl [--db PATH] [--json] zone list`: global options may come before the subcommand; they are
    /// moved after it, where the subcommands declare them.
    static func hoistGlobalOptions(_ args: [String]) -> [String] {
        var globals: [String] = []
        var rest: [String] = []
        var i = 0
        var seenCommand = false
        while i < args.count {
            let a = args[i]
            if !seenCommand && (a == "--db" || a == "--config") && i + 1 < args.count {
                globals += [a, args[i + 1]]
                i += 2
                continue
            }
            if !seenCommand && (a.hasPrefix("--db=") || a.hasPrefix("--config=") || a == "--json") {
                globals.append(a)
            } else {
                if !a.hasPrefix("-") { seenCommand = true }
                rest.append(a)
            }
            i += 1
        }
        // Insert right after "GROUP ACTION" so trailing RDATA (parsed as "remaining") stays last.
        var words = 0
        for (i, a) in rest.enumerated() where !a.hasPrefix("-") {
            words += 1
            if words == 2 { return Array(rest[...i]) + globals + Array(rest[(i + 1)...]) }
        }
        return rest + globals
    }

    static func fail(_ msg: String, code: Int32) -> Never {
        let line = msg.hasSuffix("\n") ? msg : msg + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
        Glibc.exit(code)
    }
}

/// A remark for the person at the terminal (stderr, so JSON on stdout stays one document).
func note(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
}

func say(_ s: String) {
    let line = s + "\n"
    _ = line.withCString { write(1, $0, strlen($0)) }
}

/// Resolves a name given on the command line to an absolute name and its zone. Absolute names end in ".";
/// otherwise `--zone` makes it relative, else a name that falls in a served zone as written is taken as
/// absolute, else the only zone there is is its origin.
func resolveName(_ text: String, zone: String?, store: ZoneStore) throws -> (DNSName, DNSName) {
    let zones = try store.zones().map(\.name)
    let table = SuffixTable(zones.map { ($0, ()) })
    var origin: DNSName?
    if let zone {
        guard let z = try? DNSName(zone.hasSuffix(".") ? zone : zone + ".") else { throw ValidationError("bad --zone '\(zone)'") }
        origin = z
    }
    let name: DNSName
    do {
        if text.hasSuffix(".") || text == "@" && origin != nil || origin != nil {
            name = try DNSName(text, origin: origin)
        } else if let abs = try? DNSName(text + "."), table.longest(containing: abs) != nil {
            name = abs
        } else if zones.count == 1 && text.contains(".") && text != "@" {
            // "x.example.com" that matches no zone is almost always a typo for another zone, not a name to put
            // under this one: say so instead of making x.example.com.jamfox.dev.
            throw Rejected("'\(text)' has dots and is in no served zone (\(zones[0])); write it in full with a final dot, or pass --zone \(zones[0].description.dropLast()) to put it under that zone (\(text).\(zones[0]))")
        } else if zones.count == 1 {
            name = try DNSName(text, origin: zones[0])
        } else if zones.isEmpty {
            throw Rejected("no zones exist yet; create one with 'dnsctl zone add NAME' or 'dnsctl zone import FILE'")
        } else {
            throw Rejected("'\(text)' is in no zone; write it in full (e.g. \(text).\(zones[0])) or pass --zone")
        }
    } catch let e as WireError {
        throw Rejected("bad name '\(text)': \(e.context)")
    }
    guard let owning = table.longest(containing: name)?.name else {
        throw Rejected("\(name) is in no zone served here (zones: \(zones.map(\.description).joined(separator: ", ")))")
    }
    if let origin, owning != origin, !name.isSubdomain(of: origin) {
        throw Rejected("\(name) is not in zone \(origin)")
    }
    return (name, owning)
}

/// Parses RDATA text for one type, relative names against `origin`.
func parseRData(_ text: String, type: RRType, origin: DNSName) throws -> RData {
    do { return try RData.parse(text: text, type: type, origin: origin) } catch {
        throw Rejected("bad \(type) RDATA '\(text)': \(error.message)")
    }
}

func parseType(_ text: String) throws -> RRType {
    guard let t = RRType(text: text), !t.isMetaOrQuery else {
        throw ValidationError("unknown record type '\(text)' (A, AAAA, CNAME, MX, TXT, SRV, CAA, ... or TYPEnnn)")
    }
    return t
}

func diffJSON(_ diff: ZoneDiff) -> JSON {
    .object([
        ("zone", .string(diff.zone.description)),
        ("serial", diff.serial.map { .number(Int64($0)) } ?? .null),
        ("added", .array(diff.added.map { recordJSON($0) })),
        ("removed", .array(diff.removed.map { recordJSON($0) })),
        ("warnings", .array(diff.warnings.map { .string($0) })),
    ])
}

/// Above this many changed records, `describe` prints counts and a sample instead of every record.
let describeLimit = 200

func describe(_ diff: ZoneDiff, json: Bool) {
    if json {
        say(diffJSON(diff).text)
        return
    }
    // A big import's records would bury the summary (and take seconds to print): counts and a sample.
    let shown = diff.removed.count + diff.added.count > describeLimit ? 10 : Int.max
    for r in diff.removed.prefix(shown) { say("- \(zoneLine(r, origin: diff.zone))") }
    for r in diff.added.prefix(shown) { say("+ \(zoneLine(r, origin: diff.zone))") }
    if shown != Int.max {
        say("... \(diff.removed.count) records removed, \(diff.added.count) added in all (--json lists every one)")
    }
    for w in diff.warnings { say(w) }  // each already says "warning: "
    if diff.isEmpty { say("no change to \(diff.zone)") } else if let s = diff.serial { say("\(diff.zone) serial \(s)") }
}

func zoneLine(_ r: ResourceRecord, origin: DNSName) -> String {
    "\(r.name) \(r.ttl) IN \(r.type) \(r.rdata.presentation)"
}

func recordJSON(_ r: ResourceRecord) -> JSON {
    .object([
        ("name", .string(r.name.description)), ("ttl", .number(Int64(r.ttl))), ("type", .string(r.type.description)),
        ("rdata", .string(r.rdata.presentation)),
    ])
}

/// Minimal JSON writer (no Foundation in the tools).
indirect enum JSON {
    case string(String), number(Int64), bool(Bool), null, array([JSON]), object([(String, JSON)])

    var text: String {
        switch self {
        case .string(let s): return JSON.quote(s)
        case .number(let n): return String(n)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        case .array(let a): return "[" + a.map(\.text).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.map { JSON.quote($0.0) + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}

/// Pads columns for people.
func table(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ")
    }
    say(line(header))
    for r in rows { say(line(r)) }
}

#if canImport(Glibc)
import Glibc
#endif
import DNSServer
import DNSStore
import JamVersion
import SystemIO
import JamLog

/// `jamdns`: the DNS server. Reads its options and config, then hands everything to `DNSServer`.
/// Options are parsed by hand: swift-argument-parser would pull FoundationEssentials into the daemon.

let usage = """
    USAGE: jamdns [--config FILE] [--listen ADDR:PORT ...] [--db PATH] [--zones DIR] [--log-level LEVEL]
           jamdns check-config [FILE]

    Authoritative DNS for the lab's zones, served from a SQLite store. With no options it serves
    127.0.0.1:5300 and [::1]:5300 from ./jamdns.sqlite, seeded from ./zones/ on first start.

    OPTIONS:
      --config FILE       TOML configuration file
      --listen ADDR:PORT  address to listen on, IPv4:PORT or [IPv6]:PORT (repeatable; overrides the config)
      --db PATH           SQLite store (overrides the config)
      --zones DIR         directory of NAME.zone files to seed an empty store from (overrides the config)
      --log-level LEVEL   trace, debug, info, notice, warning, error, critical
      -h, --help          show this help
      --version           print the version and exit
      check-config FILE   validate a config (with line numbers) and exit: 0 valid, 1 not

    """

func say(_ s: String, fd: Int32 = 1) {
    _ = s.withCString { write(fd, $0, strlen($0)) }
}

func fail(_ message: String, status: Int32) -> Never {
    say("jamdns: \(message)\n", fd: 2)
    exit(status)
}

struct Options {
    var config: String?
    var listen: [ListenAddress] = []
    var db: String?
    var zones: String?
    var logLevel: String?

    /// Exit status 2 on bad usage, like dnsctl.
    init(_ args: [String]) {
        var i = 0
        func value(_ flag: String) -> String {
            i += 1
            guard i < args.count else { fail("\(flag) needs a value\n\n\(usage)", status: 2) }
            return args[i]
        }
        while i < args.count {
            let a = args[i]
            switch a {
            case "-h", "--help":
                say(usage)
                exit(0)
            case "--version":
                say(JamVersion.line("jamdns") + "\n")
                exit(0)
            case "--config": config = value(a)
            case "--db": db = value(a)
            case "--zones": zones = value(a)
            case "--log-level": logLevel = value(a)
            case "--listen":
                let v = value(a)
                guard let l = ListenAddress(v) else {
                    fail("bad --listen '\(v)': use IPv4:PORT (127.0.0.1:5300) or [IPv6]:PORT ([::1]:5300)", status: 2)
                }
                listen.append(l)
            default: fail("unknown option '\(a)'\n\n\(usage)", status: 2)
            }
            i += 1
        }
    }
}

extension Options {
    /// Command-line options win over the config file, at start and on every reload.
    func override(_ c: inout ServerConfig) {
        if !listen.isEmpty {
            c.listen = listen
            c.listenExplicit = true
        }
        if let db { c.dbPath = db }
        if let zones { c.seedZones = zones }
        if let logLevel { c.logLevel = logLevel }
    }
}

func readText(_ path: String) -> String {
    do { return try FileReader.text(path) } catch { fail("config: \(error.message)", status: 1) }
}

/// What a valid config would still fail on at start, or what in it can never take effect.
func preflight(_ c: ServerConfig) -> [String] {
    var out: [String] = []
    let dir = c.dbPath.lastIndex(of: "/").map { String(c.dbPath[..<$0]) } ?? "."
    var st = stat()
    if stat(dir.isEmpty ? "/" : dir, &st) != 0 {
        out.append("store.path \(c.dbPath): the directory \(dir) does not exist (jamdns would exit at start); create it or choose another path")
    } else if access(c.dbPath, F_OK) != 0 && access(dir, W_OK) != 0 {
        out.append("store.path \(c.dbPath): the store does not exist and \(dir) is not writable by this user, so it cannot be created")
    }
    // A forward zone that is also a served zone never takes effect (served zones win), unless the zone falls
    // through: then it gets what the zone has no data for.
    if access(c.dbPath, R_OK) == 0, let store = try? ZoneStore(path: c.dbPath, readOnly: true), let modes = try? store.fallthroughModes() {
        for f in c.resolver.zones {
            if modes[f.name] == .off {
                out.append("[forward.\"\(f.name)\"] can never take effect: \(f.name) is a zone served from \(c.dbPath), and served zones answer first; remove one, or let the zone fall through ('dnsctl zone set \(f.name) --fallthrough types')")
            }
        }
    }
    return out
}

// `jamdns check-config [FILE]`: validate without starting anything.
if CommandLine.arguments.count >= 2 && CommandLine.arguments[1] == "check-config" {
    guard CommandLine.arguments.count <= 3 else { fail("check-config takes one file\n\n\(usage)", status: 2) }
    let path = CommandLine.arguments.count == 3 ? CommandLine.arguments[2] : "/etc/jamdns/jamdns.toml"
    do {
        let c = try ServerConfig.parse(readText(path), file: path)
        let problems = preflight(c)
        guard problems.isEmpty else { fail("\(path): " + problems.joined(separator: "\n\(path): "), status: 1) }
        say("\(path): valid (listen \(c.listen.map(\.description).joined(separator: " ")); store \(c.dbPath)"
            + (c.resolver.enabled ? "; resolver with \(c.resolver.upstreams.count) upstream(s) and \(c.resolver.zones.count) forward zone(s)" : "") + ")\n")
        exit(0)
    } catch {
        fail("\(error)", status: 1)
    }
}

let options = Options(Array(CommandLine.arguments.dropFirst()))
var cfg = ServerConfig()
if let path = options.config {
    do { cfg = try ServerConfig.parse(readText(path), file: path) } catch { fail(error.description, status: 1) }
}
options.override(&cfg)
guard let level = Logger.Level(rawValue: cfg.logLevel) else {
    fail("unknown log level '\(cfg.logLevel)' (trace, debug, info, notice, warning, error, critical)", status: 2)
}
let logger = Logger(label: "jamdns", level: level)

// Signals are taken synchronously by this thread; every other thread inherits the mask.
var signals = sigset_t()
sigemptyset(&signals)
for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, s) }
pthread_sigmask(SIG_BLOCK, &signals, nil)
signal(SIGPIPE, SIG_IGN)

let server: Server
do { server = try Server(config: cfg, logger: logger) } catch {
    logger.critical("cannot start: \(error)")
    exit(1)
}
// Sockets are bound and the zones loaded: systemd (Type=notify) may start what depends on DNS.
SystemdNotify.send("READY=1\nSTATUS=serving \(server.authority.snapshot().zones.count) zones on \(server.boundAddresses.map(\.description).joined(separator: " "))")

/// SIGHUP: re-read the config file (if there is one), validate it, apply it; a bad one changes nothing.
/// Command-line overrides keep winning over the file, as at start. The zones are reloaded either way.
@MainActor func reloadConfig() {
    SystemdNotify.send("RELOADING=1")
    defer { SystemdNotify.send("READY=1") }
    guard let path = options.config else {
        logger.info("SIGHUP: reloading zones (no config file to re-read)")
        server.requestReload()
        return
    }
    let text: String
    do { text = try FileReader.text(path) } catch {
        server.rejectReload(error.message)
        server.requestReload()
        return
    }
    var next: ServerConfig
    do { next = try ServerConfig.parse(text, file: path) } catch {
        server.rejectReload(error.description)
        server.requestReload()
        return
    }
    options.override(&next)
    do {
        let later = try server.reload(next)
        if !later.isEmpty { logger.warning("changed settings that take effect only after a restart: \(later.joined(separator: ", "))") }
    } catch {
        server.rejectReload("\(error)")
        server.requestReload()
    }
}

while true {
    var sig: Int32 = 0
    sigwait(&signals, &sig)
    if sig == SIGHUP {
        reloadConfig()
        continue
    }
    SystemdNotify.send("STOPPING=1")
    logger.info("shutting down", metadata: ["signal": "\(sig)"])
    server.stop()
    logger.info("stopped")
    exit(0)
}

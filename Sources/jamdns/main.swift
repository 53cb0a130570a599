#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DNSServer
import Logging

/// `jamdns`: the DNS server. Reads the config, then hands everything to `DNSServer`.
struct JamDNS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jamdns",
        abstract: "Authoritative DNS for the lab's zones, served from a SQLite store.",
        discussion: "With no options at all it serves 127.0.0.1:5300 and [::1]:5300 from ./jamdns.sqlite, seeded from ./zones/ on first start.")

    @Option(name: .long, help: "TOML configuration file.")
    var config: String?

    @Option(name: .long, help: "Address to listen on, IPv4:PORT or [IPv6]:PORT (repeatable; overrides the config).")
    var listen: [String] = []

    @Option(name: .long, help: "SQLite store (overrides the config).")
    var db: String?

    @Option(name: .long, help: "Directory of NAME.zone files to seed an empty store from (overrides the config).")
    var zones: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func validate() throws {
        for l in listen where ListenAddress(l) == nil {
            throw ValidationError("bad --listen '\(l)': use IPv4:PORT (127.0.0.1:5300) or [IPv6]:PORT ([::1]:5300)")
        }
    }

    func run() throws {
        var cfg = ServerConfig()
        if let path = config {
            guard let f = fopen(path, "r") else { throw ValidationError("cannot read config \(path): \(String(cString: strerror(errno)))") }
            var text: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
                text += buf[0..<n]
                if n < buf.count { break }
            }
            fclose(f)
            cfg = try ServerConfig.parse(String(decoding: text, as: UTF8.self), file: path)
        }
        if !listen.isEmpty {
            cfg.listen = listen.compactMap(ListenAddress.init)
            cfg.listenExplicit = true
        }
        if let db { cfg.dbPath = db }
        if let zones { cfg.seedZones = zones }
        if let logLevel { cfg.logLevel = logLevel }
        let level = Logger.Level(rawValue: cfg.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "jamdns")

        // Signals are taken synchronously by this thread; every other thread inherits the mask.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_BLOCK, &set, nil)
        signal(SIGPIPE, SIG_IGN)

        let server: Server
        do { server = try Server(config: cfg, logger: logger) } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
        while true {
            var sig: Int32 = 0
            sigwait(&set, &sig)
            if sig == SIGHUP {
                logger.info("SIGHUP: reloading zones")
                server.requestReload()
                continue
            }
            logger.info("shutting down", metadata: ["signal": "\(sig)"])
            server.stop()
            logger.info("stopped")
            return
        }
    }
}

JamDNS.main()

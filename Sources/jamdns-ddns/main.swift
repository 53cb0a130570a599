#if canImport(Glibc)
import Glibc
#endif
import DDNS
import Exposition
import JamVersion

/// `jamdns-ddns`: keeps DNS names at Cloudflare or Namecheap pointed at the WAN address. Thin: options,
/// config and secrets are read here; the work is in the DDNS library.

let usage = """
    USAGE: jamdns-ddns [--config FILE] [--once] [--dry-run]
           jamdns-ddns status [--config FILE]

    Detects the WAN address (IPv4 and/or IPv6) and updates the configured names when it changes: at start,
    then every interval (with jitter). Secrets come from a file, an environment variable or systemd
    credentials, as the config says; never from the command line.

    OPTIONS:
      --config FILE   TOML configuration (default /etc/jamdns/ddns.toml)
      --once          run one cycle and exit: 0 if every name is up to date, 1 otherwise
      --dry-run       print what would change; no write call is made and the state is not saved
      --version       print the version and exit
      status          print each name, its provider, the address pushed, when, and the last error

    """

func out(_ s: String, fd: Int32 = 1) { _ = (s + "\n").withCString { write(fd, $0, strlen($0)) } }
func fail(_ s: String, _ code: Int32) -> Never {
    out("jamdns-ddns: \(s)", fd: 2)
    exit(code)
}

var configPath = "/etc/jamdns/ddns.toml"
var once = false, dryRun = false, statusMode = false
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let a = args.removeFirst()
    switch a {
    case "--config":
        guard !args.isEmpty else { fail("--config needs a file\n\n\(usage)", 2) }
        configPath = args.removeFirst()
    case "--once": once = true
    case "--dry-run": dryRun = true
    case "status": statusMode = true
    case "-h", "--help":
        out(usage)
        exit(0)
    case "--version":
        out(JamVersion.line("jamdns-ddns"))
        exit(0)
    default: fail("unknown option '\(a)'\n\n\(usage)", 2)
    }
}

let config: DDNSConfig
do { config = try DDNSConfig.parse(try readText(configPath), file: configPath) } catch { fail("\(error)", 1) }

if statusMode {
    let rows = DDNSDaemon.status(DDNSState.load(config.stateFile), now: Int64(time(nil)))
    let header = ["NAME", "PROVIDER", "FAMILY", "ADDRESS", "PUSHED", "LAST ERROR"]
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    for r in [header] + rows {
        out(r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  "))
    }
    exit(0)
}

var environment: [String: String] = [:]
var ep = Glibc.environ
while let p = ep.pointee {
    let kv = String(cString: p)
    if let eq = kv.firstIndex(of: "=") { environment[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]) }
    ep += 1
}

var setups: [ProviderSetup] = []
for p in config.providers {
    let secret: Secret
    do { secret = try loadSecret(p.secret, environment: environment, readFile: readText) } catch { fail("[\(p.kind.rawValue)] \(error)", 1) }
    switch p.kind {
    case .cloudflare:
        setups.append(ProviderSetup(config: p, provider: CloudflareProvider(baseURL: p.api, token: secret, allowCreate: p.create,
                                                                           ttl: p.ttl, proxied: p.proxied, comment: p.comment), secret: secret))
    case .namecheap:
        setups.append(ProviderSetup(config: p, provider: NamecheapProvider(baseURL: p.api, password: secret), secret: secret))
    }
}

let lab: LabSync?
do {
    lab = config.labStore != nil || config.labControlSocket != nil
        ? try LabSync(storePath: config.labStore, record: config.labRecord, controlSocket: config.labControlSocket) : nil
} catch { fail("\(error)", 1) }
let daemon = DDNSDaemon(config: config, setups: setups, detector: Detector(policy: AddressPolicy(allowNonGlobal: config.allowNonGlobal)),
                        statePath: config.stateFile, now: { Int64(time(nil)) }, log: { out("jamdns-ddns: \($0)", fd: 2) }, lab: lab)

if once || dryRun {
    daemon.byHand = once
    let lines = daemon.cycle(dryRun: dryRun, verify: true)
    for l in lines { out(l.description) }
    exit(lines.contains { $0.failed } ? 1 : 0)
}

// Metrics: the endpoint's thread reads the state the loop publishes after each cycle.
final class Published: @unchecked Sendable {
    private var state = DDNSState()
    private var lock = pthread_mutex_t()
    init() { pthread_mutex_init(&lock, nil) }
    func set(_ s: DDNSState) { pthread_mutex_lock(&lock); state = s; pthread_mutex_unlock(&lock) }
    func get() -> DDNSState { pthread_mutex_lock(&lock); defer { pthread_mutex_unlock(&lock) }; return state }
}
let published = Published()
published.set(DDNSState.load(config.stateFile))
if let m = config.metricsListen {
    do {
        let endpoint = try HTTPEndpoint(host: m.host, port: m.port) { path in
            switch path {
            case "/metrics":
                return .init(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: DDNSMetrics.exposition(published.get(), now: Int64(time(nil))))
            case "/healthz":
                let (status, body) = DDNSMetrics.health(published.get())
                return .init(status: status, body: body)
            default:
                return .init(status: 404, body: "try /metrics or /healthz\n")
            }
        }
        endpoint.start()
    } catch { fail("\(error)", 1) }
}

// The loop: signals are taken synchronously; sigtimedwait is the sleep between cycles.
var signals = sigset_t()
sigemptyset(&signals)
for s in [SIGTERM, SIGINT] { sigaddset(&signals, s) }
pthread_sigmask(SIG_BLOCK, &signals, nil)
var verify = true
var rng = SystemRandomNumberGenerator()
while true {
    for l in daemon.cycle(dryRun: false, verify: verify) where l.failed || !l.result.isUnchanged || verify { out(l.description) }
    published.set(DDNSState.load(config.stateFile))
    verify = false
    let wait = config.intervalSeconds + (config.jitterSeconds > 0 ? Int.random(in: -config.jitterSeconds...config.jitterSeconds, using: &rng) : 0)
    var ts = timespec(tv_sec: max(1, wait), tv_nsec: 0)
    if sigtimedwait(&signals, nil, &ts) > 0 {
        out("jamdns-ddns: stopping")
        exit(0)
    }
}

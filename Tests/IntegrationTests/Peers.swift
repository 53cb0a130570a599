#if canImport(Glibc)
import Glibc
#endif

/// Knot DNS serving the same zone files, as the reference for differential tests.
final class KnotServer: Sendable {
    let port: UInt16
    /// Every port it listens on (`port` first): one server can stand in for several (Consul's three).
    let ports: [UInt16]
    let dir: String
    let child: Child

    /// nil when knotd is not installed (scripts/test installs it; the test then fails loudly instead of skipping).
    init(zones: [(name: String, file: String)], waitZone: String? = nil, listeners: Int = 1) throws {
        guard let knotd = Env.which("knotd") else { throw TestFailure("knotd is not installed: run scripts/test, which installs it") }
        let dir = Env.tempDir("knot")
        self.dir = dir
        (ports, child) = try startOnFreePort("knotd", { port in
            let ports = [port] + (1..<max(1, listeners)).map { _ in Env.freePort() }
            Env.write(dir + "/knot.conf", Self.config(ports: ports, dir: dir, zones: zones))
            let c = try Child([knotd, "-c", dir + "/knot.conf"], log: dir + "/knot.log")
            do { for p in ports { try waitUntilServing(port: p, zone: waitZone ?? zones.first?.name) } } catch { c.stop(); throw error }
            return (ports, c)
        }, log: { _ in Env.read(dir + "/knot.log") })
        port = ports[0]
    }

    static func config(ports: [UInt16], dir: String, zones: [(name: String, file: String)]) -> String {
        var conf = """
            server:
                listen: [\(ports.map { "127.0.0.1@\($0)" }.joined(separator: ", "))]
                rundir: \(dir)
            database:
                storage: \(dir)
            log:
              - target: stderr
                any: warning
            template:
              - id: default
                storage: \(dir)
                semantic-checks: on
                zonefile-sync: -1
                journal-content: none
            zone:

            """
        for z in zones {
            conf += "  - domain: \(z.name)\n    file: \(z.file)\n"
        }
        return conf
    }
}

/// Unbound as a recursive peer, forwarding everything to `forwardTo` on loopback.
final class UnboundServer: Sendable {
    let port: UInt16
    let dir: String
    let child: Child

    init(forwardTo upstream: UInt16, waitReady: Bool = true) throws {
        guard let unbound = Env.which("unbound") else { throw TestFailure("unbound is not installed: run scripts/test, which installs it") }
        let dir = Env.tempDir("unbound")
        self.dir = dir
        (port, child) = try startOnFreePort("unbound", { port in
            Env.write(dir + "/unbound.conf", Self.config(port: port, dir: dir, upstream: upstream))
            let c = try Child([unbound, "-d", "-c", dir + "/unbound.conf"], log: dir + "/unbound.log")
            if waitReady {
                do { try waitUntilServing(port: port, zone: "example.test.") } catch { c.stop(); throw error }
            } else { usleep(500_000) }
            return (port, c)
        }, log: { _ in Env.read(dir + "/unbound.log") })
    }

    static func config(port: UInt16, dir: String, upstream: UInt16) -> String {
        """
            server:
                interface: 127.0.0.1@\(port)
                port: \(port)
                do-daemonize: no
                num-threads: 1
                username: ""
                chroot: ""
                directory: "\(dir)"
                pidfile: "\(dir)/unbound.pid"
                access-control: 127.0.0.0/8 allow
                do-not-query-localhost: no
                module-config: "iterator"
                # test. is one of Unbound's built-in RFC 6761 local zones (NXDOMAIN); the fixtures live there.
                local-zone: "test." nodefault
                use-syslog: no
                logfile: ""
            forward-zone:
                name: "."
                forward-addr: 127.0.0.1@\(upstream)
            remote-control:
                control-enable: no
            """
    }
}

/// BIND's `options` for a test instance on loopback: authoritative only, no IPv6, AXFR to loopback (for the
/// tests' own comparisons), everything under `dir`.
func bindOptions(dir: String, port: UInt16) -> String {
    """
    options {
        directory "\(dir)";
        listen-on port \(port) { 127.0.0.1; };
        listen-on-v6 { none; };
        pid-file "\(dir)/named.pid";
        recursion no;
        dnssec-validation no;
        allow-transfer { 127.0.0.1; };
    };
    """
}

/// Knot, NSD or BIND as a secondary of a primary on loopback: TSIG key `xfr` for transfers and NOTIFY, and
/// AXFR out to loopback without a key (for the test's own comparison).
final class SecondaryServer: Sendable {
    enum Kind: String, Sendable, CaseIterable { case knot, nsd, bind }
    let kind: Kind
    let port: UInt16
    let dir: String
    let child: Child
    var log: String { Env.read(dir + "/server.log") }

    init(_ kind: Kind, zone: String, primaryPort: UInt16, secret: String) throws {
        self.kind = kind
        let dir = Env.tempDir("secondary-\(kind)")
        self.dir = dir
        let tool: String
        switch kind {
        case .knot: tool = "knotd"
        case .nsd: tool = "nsd"
        case .bind: tool = "named"
        }
        guard let path = Env.which(tool) else { throw TestFailure("\(tool) is not installed: run scripts/test, which installs it") }
        (port, child) = try startOnFreePort(tool, { port in
            let argv: [String]
            switch kind {
            case .knot:
                Env.write(dir + "/knot.conf", """
                    server:
                        listen: 127.0.0.1@\(port)
                        rundir: \(dir)
                    key:
                      - id: xfr
                        algorithm: hmac-sha256
                        secret: \(secret)
                    remote:
                      - id: primary
                        address: 127.0.0.1@\(primaryPort)
                        key: xfr
                    acl:
                      - id: from_primary
                        address: 127.0.0.1
                        key: xfr
                        action: notify
                      - id: compare
                        address: 127.0.0.1
                        action: transfer
                    database:
                        storage: \(dir)
                    log:
                      - target: stderr
                        any: info
                    zone:
                      - domain: \(zone)
                        master: primary
                        acl: [from_primary, compare]
                        storage: \(dir)
                        zonefile-load: none
                        zonefile-sync: -1
                        journal-content: changes
                    """)
                argv = [path, "-c", dir + "/knot.conf"]
            case .nsd:
                Env.write(dir + "/nsd.conf", """
                    server:
                      ip-address: 127.0.0.1@\(port)
                      zonesdir: \(dir)
                      username: ""
                      chroot: ""
                      pidfile: \(dir)/nsd.pid
                      xfrdfile: \(dir)/xfrd.state
                      zonelistfile: \(dir)/zone.list
                      database: ""
                      verbosity: 2
                      # NSD waits 1 s after a transfer before its next reload by default; the test times the
                      # transfer, not that wait.
                      xfrd-reload-timeout: 0
                    remote-control:
                      control-enable: no
                    key:
                      name: xfr
                      algorithm: hmac-sha256
                      secret: "\(secret)"
                    zone:
                      name: \(zone)
                      zonefile: \(zone)zone
                      allow-notify: 127.0.0.1 xfr
                      request-xfr: 127.0.0.1@\(primaryPort) xfr
                      provide-xfr: 127.0.0.1 NOKEY
                    """)
                argv = [path, "-d", "-c", dir + "/nsd.conf"]
            case .bind:
                Env.write(dir + "/named.conf", """
                    \(bindOptions(dir: dir, port: port))
                    key "xfr" { algorithm hmac-sha256; secret "\(secret)"; };
                    zone "\(zone)" {
                        type secondary;
                        primaries port \(primaryPort) { 127.0.0.1 key xfr; };
                        file "\(dir)/secondary.db";
                        allow-notify { 127.0.0.1; };
                    };
                    """)
                argv = [path, "-g", "-n", "1", "-c", dir + "/named.conf"]
            }
            let c = try Child(argv, log: dir + "/server.log")
            do { try waitUntilServing(port: port, zone: zone) } catch { c.stop(); throw error }
            return (port, c)
        }, log: { _ in Env.read(dir + "/server.log") })
    }
}

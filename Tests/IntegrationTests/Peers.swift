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

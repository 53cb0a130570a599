#if canImport(Glibc)
import Glibc
#endif

/// Knot DNS serving the same zone files, as the reference for differential tests.
final class KnotServer: Sendable {
    let port: UInt16
    let dir: String
    let child: Child

    /// nil when knotd is not installed (scripts/test installs it; the test then fails loudly instead of skipping).
    init(zones: [(name: String, file: String)], waitZone: String? = nil) throws {
        guard let knotd = Env.which("knotd") else { throw TestFailure("knotd is not installed: run scripts/test, which installs it") }
        dir = Env.tempDir("knot")
        port = Env.freePort()
        var conf = """
            server:
                listen: 127.0.0.1@\(port)
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
        Env.write(dir + "/knot.conf", conf)
        child = try Child([knotd, "-c", dir + "/knot.conf"], log: dir + "/knot.log")
        try waitUntilAnswering(port: port, zone: waitZone ?? zones.first?.name)
    }
}

/// Unbound as a recursive peer, forwarding everything to `forwardTo` on loopback.
final class UnboundServer: Sendable {
    let port: UInt16
    let dir: String
    let child: Child

    init(forwardTo upstream: UInt16, waitReady: Bool = true) throws {
        guard let unbound = Env.which("unbound") else { throw TestFailure("unbound is not installed: run scripts/test, which installs it") }
        dir = Env.tempDir("unbound")
        port = Env.freePort()
        Env.write(dir + "/unbound.conf", """
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
            """)
        child = try Child([unbound, "-d", "-c", dir + "/unbound.conf"], log: dir + "/unbound.log")
        if waitReady { try waitUntilAnswering(port: port, zone: "example.test.") } else { usleep(500_000) }
    }
}

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

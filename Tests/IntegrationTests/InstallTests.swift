import Testing

#if canImport(Glibc)
import Glibc
#endif

/// scripts/install and scripts/uninstall, staged under a --destdir (no root, no systemctl) with this build's
/// binaries: what lands where, that a second run keeps the user's config and store, what uninstall keeps.
@Suite(.serialized) struct InstallTests {
    func run(_ script: String, _ args: [String], dir: String) throws -> (Int32, String) {
        try runTool("/bin/bash", [Env.root + "/scripts/" + script] + args, dir: dir)
    }

    func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    @Test("install stages binaries, units, config, sysctl and a seeded store; a rerun keeps edits; uninstall keeps data unless --purge")
    func installTwiceThenUninstall() throws {
        let dir = Env.tempDir("install")
        let root = dir + "/root"
        let (rc, out) = try run("install", ["--destdir", root, "--binaries", Env.bin], dir: dir)
        #expect(rc == 0, "\(out)")
        for f in ["/usr/local/bin/jamdns", "/usr/local/bin/dnsctl", "/usr/local/bin/jamdns-ddns", "/etc/systemd/system/jamdns.service",
                  "/etc/systemd/system/jamdns-ddns.service", "/etc/jamdns/jamdns.toml", "/etc/jamdns/ddns.toml.example",
                  "/etc/jamdns/zones/jamfox.dev.zone", "/etc/sysctl.d/60-jamdns.conf", "/usr/local/share/doc/jamdns/README.md",
                  "/var/lib/jamdns/jamdns.sqlite"] {
            #expect(exists(root + f), "missing \(f)")
        }
        #expect(Env.read(root + "/etc/sysctl.d/60-jamdns.conf").contains("net.core.rmem_max = 4194304"))
        // Checked as the installed Pi would see it: the staged tree stands in for / (check-config looks for the
        // store's directory).
        let installed = Env.read(root + "/etc/jamdns/jamdns.toml")
        Env.write(dir + "/as-installed.toml", installed.replacing("\"/var/lib/jamdns/", with: "\"" + root + "/var/lib/jamdns/"))
        let (crc, cout) = try runTool(root + "/usr/local/bin/jamdns", ["check-config", dir + "/as-installed.toml"], dir: dir)
        #expect(crc == 0, "\(cout)")
        let db = root + "/var/lib/jamdns/jamdns.sqlite"
        let (_, zones) = try runTool(root + "/usr/local/bin/dnsctl", ["--db", db, "zone", "list"], dir: dir)
        #expect(zones.contains("jamfox.dev."), "\(zones)")

        // The user edits the config and the store; the next install (an upgrade) keeps both.
        Env.write(root + "/etc/jamdns/jamdns.toml", Env.read(root + "/etc/jamdns/jamdns.toml") + "\n# edited by the user\n")
        let (arc, aout) = try runTool(root + "/usr/local/bin/dnsctl", ["--db", db, "record", "add", "kept", "A", "10.0.0.9"], dir: dir)
        #expect(arc == 0, "\(aout)")
        let (rc2, out2) = try run("install", ["--destdir", root, "--binaries", Env.bin], dir: dir)
        #expect(rc2 == 0 && out2.contains("kept the store") && out2.contains("kept \(root)/etc/jamdns/jamdns.toml"), "\(out2)")
        #expect(Env.read(root + "/etc/jamdns/jamdns.toml").contains("# edited by the user"))
        #expect(exists(root + "/etc/jamdns/jamdns.toml.example"))
        let (_, records) = try runTool(root + "/usr/local/bin/dnsctl", ["--db", db, "record", "list"], dir: dir)
        #expect(records.contains("kept"), "\(records)")

        let (urc, uout) = try run("uninstall", ["--destdir", root], dir: dir)
        #expect(urc == 0, "\(uout)")
        #expect(!exists(root + "/usr/local/bin/jamdns") && !exists(root + "/etc/systemd/system/jamdns.service") && !exists(root + "/etc/sysctl.d/60-jamdns.conf"))
        #expect(exists(db) && exists(root + "/etc/jamdns/jamdns.toml"))
        let (prc, _) = try run("uninstall", ["--destdir", root, "--purge"], dir: dir)
        #expect(prc == 0 && !exists(db) && !exists(root + "/etc/jamdns"))
    }

    @Test("without a Swift toolchain the installer says what to install, and changes nothing")
    func noToolchain() throws {
        let dir = Env.tempDir("install-noswift")
        let (rc, out) = try runTool("/usr/bin/env", ["PATH=/usr/bin:/bin", "/bin/bash", Env.root + "/scripts/install", "--destdir", dir + "/root"], dir: dir)
        #expect(rc == 1 && out.contains("no Swift toolchain on PATH") && out.contains("swift.org/install"), "\(out)")
        #expect(!exists(dir + "/root"))
    }

    @Test("bad options exit 2 with the reason")
    func badOption() throws {
        let dir = Env.tempDir("install-opt")
        let (rc, out) = try run("install", ["--bogus"], dir: dir)
        #expect(rc == 2 && out.contains("unknown option '--bogus'"))
    }
}

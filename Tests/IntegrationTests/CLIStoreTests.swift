import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// dnsctl finds the server's store (and never invents one), works read-only, backs up and restores, and
/// says plainly what it assumed or why it refused.
@Suite(.serialized) struct CLIStoreTests {
    func dnsctl(_ args: [String], dir: String, env: [String: String] = [:]) throws -> (Int32, String) {
        try runTool(Env.bin + "/dnsctl", args, dir: dir, env: env)
    }

    @Test("no store where it looks: an error naming the path and where it came from; nothing is created")
    func missingStore() throws {
        let dir = Env.tempDir("nostore")
        // runTool runs in the test's cwd: point the default at an empty directory through --config instead.
        Env.write(dir + "/jamdns.toml", "[store]\npath = \"\(dir)/lab.sqlite\"\n")
        let (rc, out) = try dnsctl(["record", "list", "--config", dir + "/jamdns.toml"], dir: dir)
        #expect(rc == 1 && out.contains("no store at \(dir)/lab.sqlite (from store.path in \(dir)/jamdns.toml)"), "\(out)")
        #expect(access(dir + "/lab.sqlite", F_OK) != 0, "no empty store was made")
        let (rc2, out2) = try dnsctl(["zone", "add", "lab.example", "--config", dir + "/jamdns.toml"], dir: dir)
        #expect(rc2 == 0 && out2.contains("created the store \(dir)/lab.sqlite") && out2.contains("no --ns given: the zone's name server is ns1.lab.example."), "\(out2)")
        // $JAMDNS_CONFIG finds it too.
        let (rc3, out3) = try dnsctl(["zone", "list"], dir: dir, env: ["JAMDNS_CONFIG": dir + "/jamdns.toml"])
        #expect(rc3 == 0 && out3.contains("lab.example."), "\(out3)")
    }

    @Test("read-only commands work for a user who may read the store but not write it")
    func readOnlyUser() throws {
        let dir = Env.tempDir("rostore")
        chmod(dir, 0o755)
        let db = dir + "/s.sqlite"
        #expect(try dnsctl(["zone", "import", Env.root + "/zones/jamfox.dev.zone", "--db", db], dir: dir).0 == 0)
        #expect(try dnsctl(["upstream", "add", "docs.jamfox.dev", "--db", db], dir: dir).0 == 0)
        for f in [db, db + "-wal", db + "-shm"] where access(f, F_OK) == 0 { chmod(f, 0o644) }
        let out = dir + "/out"
        mkdir(out, 0o777)
        chmod(out, 0o777)
        func asNobody(_ args: [String]) throws -> (Int32, String) {
            try runTool("/usr/sbin/runuser", ["-u", "nobody", "--", Env.bin + "/dnsctl"] + args + ["--db", db], dir: out)
        }
        for cmd in [["zone", "list"], ["record", "list", "vs0"], ["zone", "export", "jamfox.dev"], ["upstream", "list"], ["explain", "vs0.jamfox.dev"]] {
            let (rc, text) = try asNobody(cmd)
            #expect(rc == 0 && !text.contains("readonly"), "\(cmd): \(text)")
        }
        let (rc, text) = try asNobody(["record", "add", "x", "A", "10.0.0.1"])
        #expect(rc == 1 && text.contains("read-only"), "\(text)")
    }

    @Test("names: dotted names in no zone are errors, the SOA cannot be removed")
    func nameRules() throws {
        let s = try CLITests.Store()
        let (rc, out) = try s.run(["record", "add", "x.example.com", "A", "192.0.2.1"])
        #expect(rc == 1 && out.contains("'x.example.com' has dots and is in no served zone") && out.contains("--zone jamfox.dev"), "\(out)")
        #expect(try s.run(["record", "add", "x.example.com", "A", "192.0.2.1", "--zone", "jamfox.dev"]).0 == 0)
        #expect(try s.run(["record", "list", "x.example.com.jamfox.dev."]).0 == 0)
        let (rc2, out2) = try s.run(["record", "rm", "@", "SOA"])
        #expect(rc2 == 1 && out2.contains("cannot be removed"), "\(out2)")
    }

    @Test("backup while the server runs, restore replaces everything and is served; a bad file changes nothing")
    func backupRestore() throws {
        let s = try JamdnsServer(zones: Env.root + "/zones")
        #expect(try s.dnsctl(["upstream", "add", "docs.jamfox.dev"]).0 == 0)
        let backup = s.dir + "/lab.backup"
        let (rc, out) = try s.dnsctl(["backup", backup])
        #expect(rc == 0 && out.contains("backed up 1 zone(s)"), "\(out)")
        var st = stat()
        #expect(stat(backup, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(try s.dnsctl(["backup", backup]).0 == 1, "never overwrites")
        #expect(try s.dnsctl(["record", "add", "gone", "A", "192.0.2.9"]).0 == 0)
        #expect(try s.dnsctl(["upstream", "rm", "docs.jamfox.dev"]).0 == 0)
        usleep(600_000)
        #expect(DNSClient.ask("gone.jamfox.dev.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(192, 0, 2, 9)))
        Env.write(s.dir + "/junk", "not a store")
        let (rcj, outj) = try s.dnsctl(["restore", s.dir + "/junk"])
        #expect(rcj == 1, "\(outj)")
        #expect(try s.dnsctl(["record", "list", "gone"]).0 == 0, "a rejected restore changes nothing")
        let (rc2, out2) = try s.dnsctl(["restore", backup])
        #expect(rc2 == 0 && out2.contains("restored 1 zone(s)"), "\(out2)")
        #expect(try s.dnsctl(["record", "list", "gone"]).0 == 1)
        #expect(try s.dnsctl(["upstream", "list"]).1.contains("docs.jamfox.dev."), "the upstream names come back too")
        // The server picks the restored store up like an edit: the wildcard answers 'gone' again.
        var served = false
        for _ in 0..<40 where !served {
            served = DNSClient.ask("gone.jamfox.dev.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(192, 168, 10, 80))
            if !served { usleep(100_000) }
        }
        #expect(served)
    }

    @Test("--version on all three binaries; --json on explain is one document")
    func versionAndJSON() throws {
        let dir = Env.tempDir("ver")
        for b in ["jamdns", "dnsctl", "jamdns-ddns"] {
            let (rc, out) = try runTool(Env.bin + "/" + b, ["--version"], dir: dir)
            #expect(rc == 0 && out.hasPrefix("\(b) ") && out.contains("(JamDNS)"), "\(b): \(out)")
        }
        let s = try CLITests.Store()
        let (rc, out) = try s.run(["explain", "vs0.jamfox.dev", "--json", "--socket", s.dir + "/none.ctl"])
        #expect(rc == 0 && out.split(separator: "\n").count == 1 && out.hasPrefix("{\"name\":\"vs0.jamfox.dev.\",\"type\":\"A\",\"from\":\"store\""), "\(out)")
    }

    @Test("explain without a server takes the server's decision: no resolver, so a 'resolve upstream' name gets the wildcard")
    func explainAgrees() throws {
        let s = try CLITests.Store()
        #expect(try s.run(["upstream", "add", "docs.jamfox.dev"]).0 == 0)
        Env.write(s.dir + "/jamdns.toml", "[store]\npath = \"\(s.db)\"\n")
        let (_, out) = try runTool(Env.bin + "/dnsctl", ["explain", "docs.jamfox.dev", "--config", s.dir + "/jamdns.toml", "--socket", s.dir + "/none.ctl"], dir: s.dir)
        #expect(out.contains("no resolver is configured: the zone answers") && out.contains("wildcard"), "\(out)")
        Env.write(s.dir + "/jamdns.toml", "[store]\npath = \"\(s.db)\"\n[resolver]\nupstreams = [\"127.0.0.1#9\"]\n")
        let (_, out2) = try runTool(Env.bin + "/dnsctl", ["explain", "docs.jamfox.dev", "--config", s.dir + "/jamdns.toml", "--socket", s.dir + "/none.ctl"], dir: s.dir)
        #expect(out2.contains("the resolver answers it"), "\(out2)")
    }

    @Test("check-config: what fails at start and what never takes effect; CRLF; unknown keys get a suggestion")
    func checkConfig() throws {
        let dir = Env.tempDir("chk")
        func check(_ text: String) throws -> (Int32, String) {
            Env.write(dir + "/c.toml", text)
            return try runTool(Env.bin + "/jamdns", ["check-config", dir + "/c.toml"], dir: dir)
        }
        let (rc1, o1) = try check("[store]\npath = \"\(dir)/missing/s.sqlite\"\n")
        #expect(rc1 == 1 && o1.contains("the directory \(dir)/missing does not exist"), "\(o1)")
        let (rc2, o2) = try check("[server]\nlsten = [\"127.0.0.1:53\"]\n")
        #expect(rc2 == 1 && o2.contains("c.toml:2: unknown key 'lsten' in [server] (did you mean 'listen'? keys there:"), "\(o2)")
        let (rc3, o3) = try check("[resolver]\nupstreams = [\"127.0.0.1#53\"]\ntry_timeout_ms = 800\ndeadline_ms = 500\n[store]\npath = \"\(dir)/s.sqlite\"\n")
        #expect(rc3 == 1 && o3.contains("c.toml:4: resolver.deadline_ms (500) is below try_timeout_ms (800)"), "\(o3)")
        let (rc4, o4) = try check("[store]\npath = \"\(dir)/s.sqlite\"\n\n[forward.\"consul.\"]\ncache = false\n")
        #expect(rc4 == 1 && o4.contains("c.toml:4: [forward.\"consul.\"] needs servers"), "\(o4)")
        let (rc5, o5) = try check("[store]\r\npath = \"\(dir)/s.sqlite\"\r\n[resolver]\r\nupstreams = [\"127.0.0.1#53\"]\r\n")
        #expect(rc5 == 0, "CRLF: \(o5)")
        #expect(try runTool(Env.bin + "/dnsctl", ["zone", "import", Env.root + "/zones/jamfox.dev.zone", "--db", dir + "/s.sqlite"], dir: dir).0 == 0)
        let (rc6, o6) = try check("[store]\npath = \"\(dir)/s.sqlite\"\n[forward.\"jamfox.dev.\"]\nservers = [\"127.0.0.1#53\"]\n")
        #expect(rc6 == 1 && o6.contains("can never take effect") && o6.contains("--fallthrough types"), "\(o6)")
        #expect(try runTool(Env.bin + "/dnsctl", ["zone", "set", "jamfox.dev", "--fallthrough", "types", "--db", dir + "/s.sqlite"], dir: dir).0 == 0)
        #expect(try check("[store]\npath = \"\(dir)/s.sqlite\"\n[forward.\"jamfox.dev.\"]\nservers = [\"127.0.0.1#53\"]\n").0 == 0, "a zone that falls through hands names to it")
    }
}

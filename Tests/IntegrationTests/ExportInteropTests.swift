import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// What `dnsctl zone export` writes is read by ldns and loaded by Knot, and re-imports to the same store.
@Suite(.serialized) struct ExportInteropTests {
    @Test("export → ldns-read-zone accepts it → knotd loads and serves it → re-import gives the identical export")
    func exportInterop() throws {
        let dir = Env.tempDir("export")
        let db = dir + "/s.sqlite", db2 = dir + "/s2.sqlite"
        let fixture = Env.root + "/Tests/Fixtures/example.test.zone"
        #expect(try runTool(Env.bin + "/dnsctl", ["zone", "import", fixture, "--db", db], dir: dir).0 == 0)
        let (rc, exported) = try runTool(Env.bin + "/dnsctl", ["zone", "export", "example.test", "--db", db], dir: dir)
        #expect(rc == 0)
        let file = dir + "/example.test.zone"
        Env.write(file, exported)
        let ldns = try #require(Env.which("ldns-read-zone"))
        let (lrc, lout) = try runTool(ldns, [file], dir: dir)
        #expect(lrc == 0, "ldns-read-zone rejected the export: \(lout)")
        let knot = try KnotServer(zones: [("example.test.", file)])
        let m = try #require(DNSClient.ask("alias.example.test.", .a, port: knot.port))
        #expect(m.answers.count == 3 && m.header.aa)
        let svc = try #require(DNSClient.ask("svc.example.test.", .https, port: knot.port))
        #expect(svc.answers.count == 1)
        #expect(try runTool(Env.bin + "/dnsctl", ["zone", "import", file, "--db", db2], dir: dir).0 == 0)
        let (_, again) = try runTool(Env.bin + "/dnsctl", ["zone", "export", "example.test", "--db", db2], dir: dir)
        #expect(again == exported)
        let sqlite = try #require(Env.which("sqlite3"))
        let q = "SELECT owner_key, type, ttl, rdata FROM records ORDER BY owner_key, type, rdata"
        #expect(try runTool(sqlite, [db, q], dir: dir).1 == (try runTool(sqlite, [db2, q], dir: dir).1))
    }
}

/// A power cut or kill -9 in the middle of writes leaves a store that passes integrity_check and holds the
/// old state or the new one, never a mix.
@Suite(.serialized) struct CrashConsistencyTests {
    @Test("kill -9 during zone imports: integrity ok, and each zone is wholly old or wholly new")
    func killDuringImport() throws {
        let dir = Env.tempDir("crash")
        let db = dir + "/s.sqlite"
        // Two versions of a 20,000-record zone; an import of either is one transaction.
        func zoneText(_ v: Int) -> String {
            var t = "$ORIGIN big.test.\n$TTL 60\n@ SOA ns h \(v) 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"
            for i in 0..<20_000 { t += "h\(i) A 10.\(v).\(i / 256).\(i % 256)\n" }
            return t
        }
        Env.write(dir + "/v1.zone", zoneText(1))
        Env.write(dir + "/v2.zone", zoneText(2))
        #expect(try runTool(Env.bin + "/dnsctl", ["zone", "import", dir + "/v1.zone", "--zone", "big.test", "--db", db], dir: dir).0 == 0)
        let sqlite = try #require(Env.which("sqlite3"))
        var killedMidway = 0
        for round in 0..<8 {
            let file = dir + (round % 2 == 0 ? "/v2.zone" : "/v1.zone")
            let c = try Child([Env.bin + "/dnsctl", "zone", "import", file, "--zone", "big.test", "--db", db], log: dir + "/imp.log")
            usleep(UInt32.random(in: 50_000...900_000))
            c.signal(SIGKILL)
            if c.wait(ms: 5000) != 0 { killedMidway += 1 }
            let (_, integrity) = try runTool(sqlite, [db, "PRAGMA integrity_check"], dir: dir)
            #expect(integrity.trimmingWhitespace == "ok")
            // Every A record carries its version in the second octet: all one version, never a mix.
            let (_, versions) = try runTool(sqlite, [db, "SELECT COUNT(*), COUNT(DISTINCT substr(hex(rdata_key), 3, 2)) FROM records WHERE type = 1 AND owner_key != X'026e7303626967047465737400'"], dir: dir)
            #expect(versions.trimmingWhitespace == "20000|1", "round \(round): \(versions)")
        }
        #expect(killedMidway > 0, "no import was interrupted; the test proved nothing")
    }
}

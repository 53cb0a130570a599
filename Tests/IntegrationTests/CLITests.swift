import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built dnsctl and checks its output and exit status (argument-parser's AssertExecuteCommand style).
@Suite(.serialized) struct CLITests {
    final class Store {
        let dir = Env.tempDir("cli")
        var db: String { dir + "/s.sqlite" }
        init() throws {
            let (rc, out) = try run(["zone", "import", Env.root + "/zones/jamfox.dev.zone"])
            guard rc == 0 else { throw TestFailure(out) }
        }
        func run(_ args: [String], env: [String: String] = [:]) throws -> (Int32, String) {
            try runTool(Env.bin + "/dnsctl", args + ["--db", db], dir: dir, env: env)
        }
    }

    @Test func zoneListTableAndJSON() throws {
        let s = try Store()
        let (rc, out) = try s.run(["zone", "list"])
        #expect(rc == 0)
        #expect(out.hasPrefix("ZONE         RECORDS  SERIAL      FALLTHROUGH  ROLE\njamfox.dev.  15       2026112100  off          primary\n"), "\(out)")
        let (rc2, json) = try s.run(["zone", "list", "--json"])
        #expect(rc2 == 0 && json.trimmingWhitespace == #"[{"name":"jamfox.dev.","records":15,"serial":2026112100,"fallthrough":"off","role":"primary"}]"#)
    }

    @Test("--db before the subcommand and $JAMDNS_DB work too")
    func dbPlacement() throws {
        let s = try Store()
        let (rc, out) = try runTool(Env.bin + "/dnsctl", ["--db", s.db, "--json", "zone", "list"], dir: s.dir)
        #expect(rc == 0 && out.contains("jamfox.dev."), "\(out)")
        let (rc2, out2) = try runTool(Env.bin + "/dnsctl", ["zone", "list"], dir: s.dir, env: ["JAMDNS_DB": s.db])
        #expect(rc2 == 0 && out2.contains("jamfox.dev."), "\(out2)")
    }

    @Test("exit codes: 0 done, 1 rejected with one line, 2 bad usage")
    func exitCodes() throws {
        let s = try Store()
        #expect(try s.run(["record", "add", "nas1", "A", "192.168.10.67"]).0 == 0)
        let (rc1, out1) = try s.run(["record", "add", "nas1", "CNAME", "rpi0"])
        #expect(rc1 == 1 && out1.hasPrefix("dnsctl: ") && out1.contains("CNAME cannot coexist") && out1.split(separator: "\n").count == 1, "\(out1)")
        let (rc2, out2) = try s.run(["record", "add", "x", "A", "999.1.1.1"])
        #expect(rc2 == 1 && out2.contains("expected an IPv4 address"), "\(out2)")
        #expect(try s.run(["record", "add", "x", "BOGUSTYPE", "1"]).0 == 2)
        #expect(try s.run(["frobnicate"]).0 == 2)
        #expect(try s.run(["record", "add", "x", "A"]).0 == 2)
        #expect(try s.run(["record", "rm", "nothere"]).0 == 1)
        #expect(try s.run(["zone", "rm", "nothere.example"]).0 == 1)
        #expect(try s.run(["record", "add", "other.example.", "A", "1.2.3.4"]).0 == 1)
    }

    /// Today's date-based serial (YYYYMMDD00, UTC) from the clock, as dnsctl computes it.
    static func datedSerial() -> Int {
        var t = time(nil)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return Int(tmv.tm_year + 1900) * 1_000_000 + Int(tmv.tm_mon + 1) * 10_000 + Int(tmv.tm_mday) * 100
    }

    @Test("record add / set / rm / list, with names relative, full and absolute")
    func recordFlow() throws {
        let before = Self.datedSerial()
        let s = try Store()
        #expect(try s.run(["record", "add", "web", "A", "192.168.10.90", "--ttl", "300"]).0 == 0)
        #expect(try s.run(["record", "add", "web.jamfox.dev", "A", "192.168.10.91"]).0 == 0)
        let (_, list) = try s.run(["record", "list", "web.jamfox.dev."])
        #expect(list.contains("web.jamfox.dev.  300  A     192.168.10.90") && list.contains("192.168.10.91"), "\(list)")
        #expect(try s.run(["record", "set", "web", "A", "10.0.0.1", "10.0.0.2", "10.0.0.3"]).0 == 0)
        let (_, json) = try s.run(["record", "list", "web", "--json"])
        #expect(json.components("10.0.0.").count == 4 && !json.contains("192.168.10.90") && json.contains(#""ttl":300"#), "\(json)")
        #expect(try s.run(["record", "rm", "web", "A", "10.0.0.2"]).0 == 0)
        #expect(try s.run(["record", "list", "web"]).1.components("10.0.0.").count == 3)
        #expect(try s.run(["record", "set", "_sip._tcp", "SRV", "10 60 5060 vs0", "--zone", "jamfox.dev"]).0 == 0)
        #expect(try s.run(["record", "list", "_sip._tcp.jamfox.dev"]).1.contains("10 60 5060 vs0.jamfox.dev."))
        #expect(try s.run(["record", "add", "@", "MX", "10", "rpi0", "--zone", "jamfox.dev"]).0 == 0)
        #expect(try s.run(["record", "rm", "web"]).0 == 0)
        #expect(try s.run(["record", "list", "web"]).0 == 1)
        let after = Self.datedSerial()
        let (_, zl) = try s.run(["zone", "list", "--json"])
        // Seven edits from the file's 2026112100: today's YYYYMMDD00 then +1 each, or +1 each while the date is
        // behind the serial. The clock is read before and after, so a run across midnight passes too.
        let expected = [before, after].map { d in d > 2026112100 ? d + 6 : 2026112107 }
        #expect(expected.contains { zl.contains(#""serial":\#($0)"#) }, "serial must be one of \(expected): \(zl)")
    }

    @Test("zone import --dry-run prints the difference and writes nothing; import is idempotent")
    func importDryRun() throws {
        let s = try Store()
        let edited = s.dir + "/jamfox.dev.zone"
        Env.write(edited, Env.read(Env.root + "/zones/jamfox.dev.zone") + "newhost IN A 192.168.10.140\n")
        let (rc, out) = try s.run(["zone", "import", edited, "--dry-run"])
        #expect(rc == 0 && out.contains("+ newhost.jamfox.dev. 3600 IN A 192.168.10.140") && out.contains("dry run"), "\(out)")
        #expect(try s.run(["record", "list", "newhost"]).0 == 1)
        #expect(try s.run(["zone", "import", edited]).0 == 0)
        let (rc2, again) = try s.run(["zone", "import", edited])
        #expect(rc2 == 0 && again.contains("no change"), "\(again)")
    }

    @Test("zone import errors say file:line:column; a failed import into a new store leaves no store; warnings say so once")
    func importErrors() throws {
        let s = try Store()
        let bad = s.dir + "/bad.zone"
        Env.write(bad, "$ORIGIN bad.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.300\n")
        let (rc, out) = try s.run(["zone", "import", bad, "--zone", "bad"])
        #expect(rc == 1 && out.contains("bad.zone:5:6:") && out.contains("expected an IPv4 address"), "\(out)")
        Env.write(bad, "$ORIGIN bad.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.3\nx.other. A 192.0.2.4\n")
        let (rc2, out2) = try s.run(["zone", "import", bad, "--zone", "bad"])
        #expect(rc2 == 1 && out2.contains("bad.zone:6: owner x.other. is outside zone bad."), "\(out2)")
        #expect(try s.run(["zone", "list"]).1.contains("bad.") == false)
        // The file is read while the store is written: an import that fails into a store it created leaves none.
        let fresh = s.dir + "/fresh.sqlite"
        let (rc3, out3) = try runTool(Env.bin + "/dnsctl", ["zone", "import", bad, "--zone", "bad", "--db", fresh], dir: s.dir)
        #expect(rc3 == 1 && out3.contains("bad.zone:6: owner x.other.") && !out3.contains("created the store"), "\(out3)")
        #expect(["", "-wal", "-shm"].allSatisfy { access(fresh + $0, F_OK) != 0 }, "no store left behind")
        Env.write(bad, "$ORIGIN bad.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.3\n")
        let (rcDry, outDry) = try runTool(Env.bin + "/dnsctl", ["zone", "import", bad, "--zone", "bad", "--db", fresh, "--dry-run"], dir: s.dir)
        #expect(rcDry == 0 && outDry.contains("dry run") && access(fresh, F_OK) != 0, "a dry run makes no store: \(outDry)")
        Env.write(bad, "$ORIGIN bad.\n$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.3\nns 30 A 192.0.2.4\n")
        let (rc4, out4) = try runTool(Env.bin + "/dnsctl", ["zone", "import", bad, "--zone", "bad", "--db", fresh], dir: s.dir)
        #expect(rc4 == 0 && out4.contains("created the store \(fresh)") && access(fresh, F_OK) == 0, "\(out4)")
        #expect(out4.contains("\nwarning: ns.bad. A: TTL 30 differs") && !out4.contains("warning: warning:"), "\(out4)")
    }

    @Test("$INCLUDE reads files inside the zone's directory and refuses others, symlinks included")
    func includeFromDisk() throws {
        let s = try Store()
        let zdir = s.dir + "/z"
        mkdir(zdir, 0o755)
        mkdir(zdir + "/parts", 0o755)
        Env.write(zdir + "/parts/hosts.inc", "h1 A 192.0.2.11\nh2 A 192.0.2.12\n")
        Env.write(zdir + "/inc.test.zone", "$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n$INCLUDE parts/hosts.inc\n")
        let (rc, out) = try s.run(["zone", "import", zdir + "/inc.test.zone"])
        #expect(rc == 0 && out.contains("h2.inc.test."), "\(out)")
        Env.write(s.dir + "/secret.inc", "leak A 192.0.2.99\n")
        Env.write(zdir + "/bad.test.zone", "$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n$INCLUDE ../secret.inc\n")
        let (rc2, out2) = try s.run(["zone", "import", zdir + "/bad.test.zone"])
        #expect(rc2 == 1 && out2.contains("bad.test.zone:5:10:") && out2.contains("leaves the zone's directory"), "\(out2)")
        symlink(s.dir + "/secret.inc", zdir + "/parts/link.inc")
        Env.write(zdir + "/sym.test.zone", "$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n$INCLUDE parts/link.inc\n")
        let (rc3, out3) = try s.run(["zone", "import", zdir + "/sym.test.zone"])
        #expect(rc3 == 1 && out3.contains("outside"), "\(out3)")
    }

    @Test("zone add creates a valid zone; zone rm removes it")
    func zoneAddRemove() throws {
        let s = try Store()
        #expect(try s.run(["zone", "add", "lab.example", "--ns", "rpi0.jamfox.dev."]).0 == 0)
        #expect(try s.run(["record", "add", "h.lab.example", "A", "10.0.0.1"]).0 == 0)
        #expect(try s.run(["zone", "add", "lab.example"]).0 == 1)
        #expect(try s.run(["zone", "rm", "lab.example"]).0 == 0)
        #expect(try s.run(["zone", "list"]).1.contains("lab.example") == false)
    }
}

extension String {
    /// Splits on a separator string (no Foundation in the tests).
    func components(_ sep: String) -> [String] {
        let a = Array(utf8), b = Array(sep.utf8)
        var out: [String] = []
        var cur: [UInt8] = []
        var i = 0
        while i < a.count {
            if i + b.count <= a.count && Array(a[i..<(i + b.count)]) == b {
                out.append(String(decoding: cur, as: UTF8.self))
                cur = []
                i += b.count
            } else {
                cur.append(a[i])
                i += 1
            }
        }
        out.append(String(decoding: cur, as: UTF8.self))
        return out
    }
}

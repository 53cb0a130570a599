import DDNS
import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `jamdns-ddns` end to end: the real binary, a strict fake Cloudflare API and a fake trace endpoint whose
/// address the test changes. Loopback only.
@Suite(.serialized) struct DDNSDaemonTests {
    typealias Fake = HTTPClientTests.Fake

    final class Lab {
        let dir = Env.tempDir("ddns")
        let cf: Fake
        let trace: Fake
        var ipFile: String { dir + "/wan-ip" }
        init(token: String = "good-token") throws {
            Env.write(dir + "/wan-ip", "203.0.114.7\n")
            cf = try Fake(script: "fake_cloudflare.py")
            trace = try Fake(script: "fake_http.py", extra: ["--ip-file", dir + "/wan-ip"])
            Env.write(dir + "/ddns.toml", """
                [ddns]
                state_file = "\(dir)/state.json"
                detect_v4 = ["cloudflare-trace http://127.0.0.1:\(trace.port)/cdn-cgi/trace"]
                [cloudflare]
                api = "http://127.0.0.1:\(cf.port)/client/v4"
                token_env = "JAMDNS_TEST_CF_TOKEN"
                zone = "jamfox.dev"
                names = ["vpn", "valheim", "minecraft"]
                create = true
                """)
            self.token = token
        }
        let token: String
        func run(_ args: [String]) throws -> (Int32, String) {
            try runTool(Env.bin + "/jamdns-ddns", ["--config", dir + "/ddns.toml"] + args, dir: dir, env: ["JAMDNS_TEST_CF_TOKEN": token])
        }
        func calls() throws -> [(method: String, path: String, body: String)] { try CloudflareTests.calls(cf) }
        func writes() throws -> Int { try calls().filter { $0.method != "GET" }.count }
    }

    @Test("first start writes exactly what is needed; unchanged across restarts writes nothing; a change is one write per name")
    func lifecycle() throws {
        let lab = try Lab()
        var outputs: [String] = []
        let (rc, first) = try lab.run(["--once"])
        outputs.append(first)
        #expect(rc == 0, "\(first)")
        #expect(first.contains("vpn.jamfox.dev v4: updated 198.51.100.1 → 203.0.114.7") && first.contains("minecraft.jamfox.dev v4: created 203.0.114.7"), "\(first)")
        let w1 = try lab.calls().filter { $0.method != "GET" }
        #expect(w1.map(\.method).sorted() == ["PATCH", "PATCH", "POST"], "\(w1)")
        for _ in 0..<4 {
            let (rc2, again) = try lab.run(["--once"])
            outputs.append(again)
            #expect(rc2 == 0 && again.contains("unchanged"), "\(again)")
        }
        #expect(try lab.writes() == 3, "restarts with an unchanged address must not write")
        // The WAN address changes.
        Env.write(lab.ipFile, "203.0.114.8\n")
        let (_, dry) = try lab.run(["--dry-run"])
        outputs.append(dry)
        #expect(dry.contains("would update 203.0.114.7 → 203.0.114.8 (dry run)"), "\(dry)")
        #expect(try lab.writes() == 3)
        let (rc3, changed) = try lab.run(["--once"])
        outputs.append(changed)
        #expect(rc3 == 0)
        let w2 = try lab.calls().filter { $0.method != "GET" }
        #expect(w2.count == 6 && w2.suffix(3).allSatisfy { $0.method == "PATCH" }, "\(w2)")
        let (_, status) = try lab.run(["status"])
        outputs.append(status)
        #expect(status.contains("vpn.jamfox.dev") && status.contains("203.0.114.8") && status.contains("cloudflare"), "\(status)")
        // The token never shows in anything printed.
        for o in outputs { #expect(!o.contains("good-token")) }
    }

    @Test("a 429 stretches the next attempt to Retry-After or more: no call until then")
    func rateLimit() throws {
        let lab = try Lab()
        try CloudflareTests.control(lab.cf, #"{"rate_limit": 100, "retry_after": 120}"#)
        let (rc, out) = try lab.run(["--once"])
        #expect(rc == 1 && out.contains("rate limited, retry after 120 s"), "\(out)")
        try CloudflareTests.control(lab.cf, #"{"rate_limit": 0}"#)
        let before = try lab.calls().count
        let (rc2, out2) = try lab.run(["--once"])
        #expect(rc2 == 1 && out2.contains("waiting"), "\(out2)")
        #expect(try lab.calls().count == before, "a call was made inside the Retry-After window")
    }

    @Test("the daemon's /metrics: last success, failures and rate-limit state per name; /healthz says which name fails")
    func metricsEndpoint() throws {
        let lab = try Lab()
        let mport = Env.freePort()
        Env.write(lab.dir + "/ddns.toml", Env.read(lab.dir + "/ddns.toml").replacingOccurrence("[ddns]\n", "[ddns]\nmetrics_listen = \"127.0.0.1:\(mport)\"\n"))
        // One good cycle for every name, then Cloudflare starts answering 429.
        #expect(try lab.run(["--once"]).0 == 0)
        Env.write(lab.ipFile, "203.0.114.8\n")
        try CloudflareTests.control(lab.cf, #"{"rate_limit": 100, "retry_after": 120}"#)
        let daemon = try Child([Env.bin + "/jamdns-ddns", "--config", lab.dir + "/ddns.toml"], log: lab.dir + "/daemon.log",
                               env: ["JAMDNS_TEST_CF_TOKEN": lab.token])
        var text = ""
        for _ in 0..<50 {
            text = httpGet(port: mport, "/metrics").1
            if metric(text, "jamdns_ddns_rate_limited{provider=\"cloudflare\",name=\"vpn.jamfox.dev\",family=\"v4\"}") == 1 { break }
            usleep(100_000)
        }
        let vpn = "{provider=\"cloudflare\",name=\"vpn.jamfox.dev\",family=\"v4\"}"
        #expect(metric(text, "jamdns_ddns_rate_limited" + vpn) == 1, "\(text)")
        #expect((metric(text, "jamdns_ddns_failures_total" + vpn) ?? 0) >= 1)
        #expect((metric(text, "jamdns_ddns_last_success_timestamp_seconds" + vpn) ?? 0) > 1_700_000_000)
        #expect((metric(text, "jamdns_ddns_next_attempt_timestamp_seconds" + vpn) ?? 0) > Double(time(nil)) + 60)
        let (status, body) = httpGet(port: mport, "/healthz")
        #expect(status == 503 && body.contains("failing: cloudflare vpn.jamfox.dev v4: ") && body.contains("rate limited"), "\(body)")
        #expect(!text.contains(lab.token) && !body.contains(lab.token))
        daemon.signal(SIGTERM)
        #expect(daemon.wait(ms: 3000) == 0)
    }

    @Test("an auth error is reported with what to fix and does not loop; a fixed token or a run by hand ends the wait; the token is never printed")
    func authError() throws {
        let lab = try Lab(token: "wrong-s3cret-token")
        let (rc, out) = try lab.run(["--once"])
        #expect(rc == 1 && out.contains("authentication failed") && out.contains("DNS:Edit"), "\(out)")
        #expect(!out.contains("wrong-s3cret-token"))
        // The daemon restarted with the same token: it waits, no call.
        func daemonRun(token: String, until text: String) throws -> String {
            let log = lab.dir + "/daemon-\(UInt32.random(in: 0...UInt32.max)).log"
            let d = try Child([Env.bin + "/jamdns-ddns", "--config", lab.dir + "/ddns.toml"], log: log, env: ["JAMDNS_TEST_CF_TOKEN": token])
            for _ in 0..<50 where !Env.read(log).contains(text) { usleep(100_000) }
            d.stop()
            return Env.read(log)
        }
        let before = try lab.calls().count
        let waited = try daemonRun(token: "wrong-s3cret-token", until: "waiting")
        #expect(waited.contains("waiting") && !waited.contains("wrong-s3cret-token"), "\(waited)")
        #expect(try lab.calls().count == before, "the same bad token is not retried before the wait is over")
        // By hand: --once tries again at once.
        let (_, again) = try lab.run(["--once"])
        let after = try lab.calls().count
        #expect(again.contains("authentication failed") && after > before, "\(again)")
        // The token fixed: the restarted daemon does not wait out the hour.
        let fixed = try daemonRun(token: "good-token", until: "minecraft.jamfox.dev v4: created")
        #expect(fixed.contains("vpn.jamfox.dev v4: updated 198.51.100.1 → 203.0.114.7") && fixed.contains("recovered after"), "\(fixed)")
    }

    @Test("a token limited to client IPs is said so; two A records for one name: one is updated, the other reported, none deleted")
    func ipFilterAndDuplicates() throws {
        let lab = try Lab(token: "ip-limited-token")
        let (rc, out) = try lab.run(["--once"])
        #expect(rc == 1 && out.contains("limited to client IP addresses") && !out.contains("DNS:Edit"), "\(out)")
        let good = try Lab()
        try CloudflareTests.control(good.cf, #"{"add_record": {"id": "rec-vpn2", "type": "A", "name": "vpn.jamfox.dev", "content": "198.51.100.2"}}"#)
        let (rc2, out2) = try good.run(["--once"])
        #expect(rc2 == 0 && out2.contains("vpn.jamfox.dev v4: updated 198.51.100.1 → 203.0.114.7; also A 198.51.100.2 (id rec-vpn2) (left alone"), "\(out2)")
        let writes = try good.calls().filter { $0.method != "GET" }
        #expect(writes.filter { $0.path.contains("rec-vpn") }.map(\.path) == ["/client/v4/zones/zone-jamfox/dns_records/rec-vpn"], "\(writes)")
        #expect(!writes.contains { $0.method == "DELETE" })
    }

    @Test("one read per name before its write; a record changed at the provider is repaired at the next check")
    func oneReadAndDrift() throws {
        let lab = try Lab()
        #expect(try lab.run(["--once"]).0 == 0)
        Env.write(lab.ipFile, "203.0.114.9\n")
        let before = try lab.calls().count
        #expect(try lab.run(["--once"]).0 == 0)
        let calls = try lab.calls().dropFirst(before)
        let vpnReads = calls.filter { $0.method == "GET" && $0.path.contains("dns_records") && $0.path.contains("name=vpn.jamfox.dev") }
        #expect(vpnReads.count == 1, "read once, then PATCH: \(calls.map { "\($0.method) \($0.path)" })")
        // Changed behind our back: the next check (every start, and every verify_interval) puts it right.
        try CloudflareTests.control(lab.cf, #"{"set_content": {"id": "rec-vpn", "content": "198.51.100.66"}}"#)
        let (_, out) = try lab.run(["--once"])
        #expect(out.contains("vpn.jamfox.dev v4: updated 198.51.100.66 → 203.0.114.9"), "\(out)")
    }

    @Test("detection: a trace through WARP is refused and the next method is used; nothing usable, nothing written")
    func detectionFallback() throws {
        let lab = try Lab()
        let warp = try Fake(script: "fake_http.py", extra: ["--ip-file", lab.ipFile, "--warp", "on"])
        Env.write(lab.dir + "/ddns.toml", Env.read(lab.dir + "/ddns.toml").replacingOccurrence(
            "detect_v4 = [\"cloudflare-trace http://127.0.0.1:\(lab.trace.port)/cdn-cgi/trace\"]",
            "detect_v4 = [\"cloudflare-trace http://127.0.0.1:\(warp.port)/cdn-cgi/trace\", \"echo http://127.0.0.1:\(lab.trace.port)/ip\"]"))
        let (rc, out) = try lab.run(["--once"])
        #expect(rc == 0 && out.contains("updated 198.51.100.1 → 203.0.114.7"), "\(out)")
        Env.write(lab.ipFile, "192.168.10.1\n")  // a private address from every method: refused
        let before = try lab.writes()
        let (rc2, out2) = try lab.run(["--once"])
        #expect(rc2 == 1 && out2.contains("no WAN address") && out2.contains("private"), "\(out2)")
        #expect(try lab.writes() == before)
    }

    @Test("the lab's own record follows the WAN address through the store, live in jamdns, and the moved names are flushed from its cache")
    func labRecordAndFlush() throws {
        let lab = try Lab()
        let cfgDir = Env.tempDir("labjam")
        Env.write(cfgDir + "/jamdns.toml", "[resolver]\nupstreams = [\"127.0.0.1:\(lab.trace.port)\"]\n")
        let jam = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", cfgDir + "/jamdns.toml"])
        Env.write(lab.dir + "/ddns.toml", Env.read(lab.dir + "/ddns.toml") + "\n[lab]\nstore = \"\(jam.db)\"\nrecord = \"wan.jamfox.dev\"\n")
        #expect(DNSClient.ask("wan.jamfox.dev.", .a, port: jam.port)?.answers.first?.rdata == .a(IPv4Address(192, 168, 10, 80)))  // wildcard
        let (rc, out) = try lab.run(["--once"])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("lab: wan.jamfox.dev. A set to 203.0.114.7"), "\(out)")
        #expect(out.contains("jamdns cache: ok: flushed") && out.contains("vpn.jamfox.dev"), "\(out)")
        var served = false
        for _ in 0..<50 where !served {
            usleep(20_000)
            served = DNSClient.ask("wan.jamfox.dev.", .a, port: jam.port)?.answers.first?.rdata == .a(IPv4Address(203, 0, 114, 7))
        }
        #expect(served, "jamdns does not serve the new lab record within a second")
        let (_, again) = try lab.run(["--once"])
        #expect(again.contains("lab: wan.jamfox.dev. A unchanged") && !again.contains("jamdns cache"), "\(again)")
    }

    @Test("Namecheap through the daemon: it cannot be read back, so the persisted state keeps restarts from pushing again")
    func namecheap() throws {
        let lab = try Lab()
        let nc = try Fake(script: "fake_namecheap.py")
        Env.write(lab.dir + "/nc.toml", """
            [ddns]
            state_file = "\(lab.dir)/nc-state.json"
            detect_v4 = ["cloudflare-trace http://127.0.0.1:\(lab.trace.port)/cdn-cgi/trace"]
            [namecheap]
            api = "http://127.0.0.1:\(nc.port)"
            password_env = "JAMDNS_TEST_NC_PASSWORD"
            zone = "jamfox.dev"
            names = ["@", "*", "vpn"]
            """)
        func run() throws -> (Int32, String) {
            try runTool(Env.bin + "/jamdns-ddns", ["--config", lab.dir + "/nc.toml", "--once"], dir: lab.dir, env: ["JAMDNS_TEST_NC_PASSWORD": "good-password"])
        }
        func pushes() throws -> Int {
            try HTTPClient().perform(HTTPRequest(url: "http://127.0.0.1:\(nc.port)/__state")).text.components("\"host\"").count - 1
        }
        let (rc, out) = try run()
        #expect(rc == 0 && !out.contains("good-password"), "\(out)")
        #expect(try pushes() == 3)
        for _ in 0..<3 { #expect(try run().0 == 0) }
        #expect(try pushes() == 3, "restarts pushed again")
        Env.write(lab.ipFile, "203.0.114.8\n")
        #expect(try run().0 == 0)
        #expect(try pushes() == 6)
    }
}

extension String {
    func replacingOccurrence(_ a: String, _ b: String) -> String {
        let parts = components(a)
        return parts.joined(separator: b)
    }
}

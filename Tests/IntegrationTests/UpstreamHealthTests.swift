import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Upstream health that tells the truth: every server is probed at start and while idle, a server that has
/// never answered is not "up", and a config reload keeps what is known of the servers that stay.
@Suite(.serialized) struct UpstreamHealthTests {
    func waitFor(_ what: String, seconds: Int = 5, _ check: () -> Bool) -> Bool {
        for _ in 0..<(seconds * 10) {
            if check() { return true }
            usleep(100_000)
        }
        return check()
    }

    @Test("probed at start: the live server is up, the silent one down, with no client query at all; a reload keeps both and the counters")
    func probesAndReload() throws {
        let internet = try KnotServer(zones: [("example.test.", Env.root + "/Tests/Fixtures/example.test.zone")])
        let consul = try KnotServer(zones: [("consul.", Env.root + "/Tests/Fixtures/consul.zone")])
        // A UDP socket that takes queries and never answers (a stalled server).
        let (holeFD, holePort) = ForwarderTests.blackHole()
        defer { close(holeFD) }
        let dir = Env.tempDir("health")
        let port = Env.freePort(), mport = Env.freePort()
        func config(consulZone: Bool) -> String {
            """
            [server]
            listen = ["127.0.0.1:\(port)"]
            [store]
            path = "\(dir)/s.sqlite"
            seed_zones = "\(Env.root)/zones"
            [metrics]
            listen = "127.0.0.1:\(mport)"
            [resolver]
            upstreams = ["127.0.0.1:\(internet.port)", "127.0.0.1:\(holePort)"]
            try_timeout_ms = 300
            deadline_ms = 900
            \(consulZone ? "[forward.\"consul.\"]\nservers = [\"127.0.0.1#\(consul.port)\"]\ncache = false\nserve_stale = false" : "")
            """
        }
        Env.write(dir + "/jamdns.toml", config(consulZone: false))
        let child = try Child([Env.bin + "/jamdns", "--config", dir + "/jamdns.toml"], log: dir + "/jamdns.log")
        try waitUntilAnswering(port: port, zone: nil)
        let live = "jamdns_upstream_up{zone=\".\",server=\"127.0.0.1:\(internet.port)\"}"
        let dead = "jamdns_upstream_up{zone=\".\",server=\"127.0.0.1:\(holePort)\"}"
        func metrics() -> String { httpGet(port: mport, "/metrics").1 }
        #expect(waitFor("probes") { metric(metrics(), live) == 1 && metric(metrics(), dead) == 0 && metric(metrics(), "jamdns_upstream_state{zone=\".\",server=\"127.0.0.1:\(holePort)\",state=\"down\"}") == 1 },
                "\(metrics())")
        for i in 0..<5 { _ = DNSClient.ask("n\(i).example.test.", .a, port: port, rd: true) }
        let before = metric(metrics(), "jamdns_forwarder_queries_total{result=\"received\"}") ?? 0
        let failedBefore = metric(metrics(), "jamdns_upstream_failures_total{zone=\".\",server=\"127.0.0.1:\(holePort)\"}") ?? 0
        #expect(before >= 5 && failedBefore >= 1)
        // A reload that changes the resolver (a consul. zone): the same servers keep their state and counts.
        Env.write(dir + "/jamdns.toml", config(consulZone: true))
        child.signal(SIGHUP)
        #expect(waitFor("reload") { metric(metrics(), "jamdns_config_reloads_total{result=\"applied\"}") == 1 })
        let text = metrics()
        #expect(metric(text, dead) == 0, "a dead server does not come back as alive after a reload: \(text)")
        #expect((metric(text, "jamdns_upstream_failures_total{zone=\".\",server=\"127.0.0.1:\(holePort)\"}") ?? 0) >= failedBefore)
        #expect((metric(text, "jamdns_forwarder_queries_total{result=\"received\"}") ?? 0) >= before, "counters do not reset")
        #expect(metric(text, live) == 1)
        // The new consul. server is probed too, and found up before any client asks.
        #expect(waitFor("consul probe") { metric(metrics(), "jamdns_upstream_up{zone=\"consul.\",server=\"127.0.0.1:\(consul.port)\"}") == 1 }, "\(metrics())")
        child.stop()
    }
}

import DNSTSIG
import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// jamdns as the primary of Knot, NSD and BIND secondaries (Debian's packages, on loopback): the first AXFR
/// with TSIG, an edit reaching all three through NOTIFY and IXFR, each secondary's copy compared record by
/// record with the primary's, and transfers refused to a wrong key and to a client without one.
@Suite(.serialized) struct TransferInteropTests {
    /// A test key (not a real secret anywhere): 32 bytes, base64.
    static let secret = "dGhpcyBpcyB0aGUgdGVzdCBrZXkgb2YgamFtZG5zISE="
    static let zone = "jamfox.dev."

    /// The zone's records as `kdig axfr` prints them, normalised (one space, lower case, sorted), TSIG and
    /// comments left out; nil when the transfer failed.
    static func axfr(port: UInt16, zone: String = zone, key: String? = nil, dir: String) throws -> [String]? {
        let kdig = try #require(Env.which("kdig"))
        var args = ["@127.0.0.1", "-p", "\(port)", zone, "AXFR", "+tcp"]
        if let key { args += ["-y", "hmac-sha256:xfr:\(key)"] }
        let (status, out) = try runTool(kdig, args, dir: dir)
        guard status == 0, !out.contains("failed"), !out.contains("REFUSED"), !out.contains("NOTAUTH") else { return nil }
        let lines = out.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ").lowercased() }
        return lines.filter { !$0.isEmpty && !$0.hasPrefix(";") && !$0.contains(" tsig ") }.sorted()
    }

    static func serial(port: UInt16) -> UInt32? {
        DNSClient.ask(zone, .soa, port: port, timeoutMs: 500)?.answers.first { $0.type == .soa }?.rdata.soa?.serial
    }

    /// Polls until `done` or `seconds` pass; returns the seconds it took, nil on time-out.
    static func waitFor(_ seconds: Double, _ done: () -> Bool) -> Double? {
        let start = monotonicSeconds()
        while monotonicSeconds() - start < seconds {
            if done() { return monotonicSeconds() - start }
            usleep(10_000)
        }
        return nil
    }

    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    static func config(notify: [UInt16]) -> String {
        """
        [store]
        poll_interval_ms = 100
        [zone."jamfox.dev."]
        allow_transfer = ["key xfr"]
        notify = [\(notify.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]
        notify_key = "xfr"
        """
    }

    @Test("Knot, NSD and BIND as secondaries of jamdns: AXFR with TSIG, then an edit reaches each by NOTIFY and IXFR; copies equal; wrong key and no key refused")
    func secondaries() throws {
        let cfgDir = Env.tempDir("primary-config")
        let cfg = cfgDir + "/jamdns.toml"
        Env.write(cfg, Self.config(notify: []))
        let primary = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", cfg])
        defer { primary.child.stop() }
        Env.write(cfgDir + "/xfr.secret", Self.secret + "\n")
        let (added, text) = try primary.dnsctl(["tsig", "add", "xfr", "--secret-file", cfgDir + "/xfr.secret"])
        #expect(added == 0, "\(text)")
        // The server reads the store's keys on its next poll: wait until a signed transfer works.
        #expect(Self.waitFor(10) { (try? Self.axfr(port: primary.port, key: Self.secret, dir: cfgDir)) != nil } != nil, "\(Env.read(primary.dir + "/jamdns.log"))")
        let reference = try #require(try Self.axfr(port: primary.port, key: Self.secret, dir: cfgDir))
        #expect(reference.count > 10 && reference.first { $0.contains(" soa ") } != nil)

        let secondaries = try SecondaryServer.Kind.allCases.map { try SecondaryServer($0, zone: Self.zone, primaryPort: primary.port, secret: Self.secret) }
        defer { for s in secondaries { s.child.stop() } }
        Env.write(cfg, Self.config(notify: secondaries.map(\.port)))
        primary.child.signal(SIGHUP)
        #expect(Self.waitFor(10) { Env.read(primary.dir + "/jamdns.log").contains("config reloaded") } != nil)

        // The first transfer: every secondary at the primary's serial, with the same records.
        let first = try #require(Self.serial(port: primary.port))
        for s in secondaries {
            #expect(Self.waitFor(30) { Self.serial(port: s.port) == first } != nil, "\(s.kind) never reached serial \(first): \(s.log)")
            #expect(try Self.axfr(port: s.port, dir: cfgDir) == reference, "\(s.kind)'s copy differs")
        }

        // One edit: NOTIFY, IXFR, served. The time from dnsctl's commit to each secondary answering is printed.
        let (status, out) = try primary.dnsctl(["record", "add", "ixfr-probe.jamfox.dev.", "A", "192.168.10.250"])
        #expect(status == 0, "\(out)")
        let start = Self.monotonicSeconds()
        var seen: [SecondaryServer.Kind: Double] = [:]
        _ = Self.waitFor(15) {
            for s in secondaries where seen[s.kind] == nil {
                let answers = DNSClient.ask("ixfr-probe.jamfox.dev.", .a, port: s.port, timeoutMs: 300)?.answers ?? []
                if answers.contains(where: { $0.rdata == .a(IPv4Address(192, 168, 10, 250)) }) { seen[s.kind] = Self.monotonicSeconds() - start }
            }
            return seen.count == secondaries.count
        }
        for s in secondaries { #expect(seen[s.kind] != nil, "\(s.kind) never served the edit: \(s.log)") }
        // Within a second of the commit (the issue's bound; measured: Knot and NSD 3-20 ms). BIND gets twice
        // that: it waits about 300 ms of its own after a NOTIFY before it asks.
        for s in secondaries { #expect((seen[s.kind] ?? 99) < (s.kind == .bind ? 2 : 1), "\(s.kind) took \(seen[s.kind] ?? -1) s") }
        let latencies = secondaries.map { "\($0.kind) \(seen[$0.kind].map { "\(Int(($0 * 1000).rounded())) ms" } ?? "never")" }
        print("edit to secondaries serving it: \(latencies.joined(separator: ", "))")
        let log = Env.read(primary.dir + "/jamdns.log")
        let ixfrs = log.split(separator: "\n").filter { $0.contains("zone transfer sent") && $0.contains("type=IXFR") && !$0.contains("whole zone") }
        #expect(ixfrs.count >= secondaries.count, "IXFRs sent: \(ixfrs.count)\n\(log)")
        let after = try #require(try Self.axfr(port: primary.port, key: Self.secret, dir: cfgDir))
        #expect(after.contains { $0.hasPrefix("ixfr-probe.jamfox.dev. ") })
        for s in secondaries { #expect(try Self.axfr(port: s.port, dir: cfgDir) == after, "\(s.kind)'s copy differs after the IXFR") }

        // Refused: no key (from an address allow_transfer does not name), and a wrong key.
        #expect(DNSClient.ask(Self.zone, .axfr, port: primary.port, tcp: true)?.rcode == .refused)
        let kdig = try #require(Env.which("kdig"))
        let (_, wrong) = try runTool(kdig, ["@127.0.0.1", "-p", "\(primary.port)", Self.zone, "AXFR", "-y", "hmac-sha256:xfr:d3JvbmcgdGVzdCBzZWNyZXQgb2YgMzIgYnl0ZXMhISE="], dir: cfgDir)
        #expect(wrong.contains("BADSIG") || wrong.contains("NOTAUTH"), "\(wrong)")
        let later = Env.read(primary.dir + "/jamdns.log")
        #expect(later.contains("zone transfer refused by allow_transfer") && later.contains("client=127.0.0.1") && later.contains("key=none"), "\(later)")
        #expect(later.contains("BADSIG"), "the wrong key's query is logged")
        #expect(!later.contains(Self.secret), "the secret never reaches the log")
    }

    @Test("a 60,000-record AXFR streams over a real connection: pipelined queries after it are answered after its last SOA, and other clients meanwhile")
    func bigTransferPipelined() throws {
        let zones = Env.tempDir("big-zone")
        var text = "$ORIGIN big.test.\n$TTL 300\n@ SOA ns1 hostmaster 7 3600 600 1209600 300\n@ NS ns1\nns1 A 192.0.2.53\n"
        for i in 0..<60_000 { text += "h\(i) A 10.\(i >> 16 & 255).\(i >> 8 & 255).\(i & 255)\n" }
        Env.write(zones + "/big.test.zone", text)
        let cfgDir = Env.tempDir("big-config")
        Env.write(cfgDir + "/jamdns.toml", "[zone.\"big.test.\"]\nallow_transfer = [\"127.0.0.0/8\"]\n")
        let s = try JamdnsServer(zones: zones, extraArgs: ["--config", cfgDir + "/jamdns.toml"])
        defer { s.child.stop() }
        let fd = try #require(DNSClient.connectTCP(port: s.port, timeoutMs: 10_000))
        defer { close(fd) }
        let axfr = Message.query(try DNSName("big.test."), .axfr, id: 100, recursionDesired: false, edns: nil).wireBytes()
        let soa = Message.query(try DNSName("big.test."), .soa, id: 101, recursionDesired: false, edns: nil).wireBytes()
        DNSClient.sendFrame(fd, axfr)
        DNSClient.sendFrame(fd, soa)
        var records = 0, messages = 0, soas = 0
        var names = Set<String>()
        while soas < 2 {
            let frame = try #require(DNSClient.readFrame(fd), "the stream ended after \(messages) messages")
            let m = try Message.parse(frame)
            #expect(m.header.id == 100, "an answer inside the transfer")
            messages += 1
            for r in m.answers {
                records += 1
                if r.type == .soa { soas += 1 } else { names.insert("\(r.name) \(r.type)") }
            }
            // Another client meanwhile (after the first message: the transfer is under way).
            if messages == 1 { #expect(DNSClient.ask("h5.big.test.", .a, port: s.port, tcp: true)?.answers.count == 1) }
        }
        #expect(records == 60_004 && names.count == 60_002, "\(records) records, \(names.count) distinct")
        #expect(messages > 10)
        let after = try Message.parse(try #require(DNSClient.readFrame(fd)))
        #expect(after.header.id == 101 && after.answers.first?.type == .soa)
    }
}

import DNSWire
import Testing
@testable import DDNS

#if canImport(Glibc)
import Glibc
#endif

/// The DDNS cycle with a provider that records calls and a clock the test moves: waits, rate limits,
/// drift repair and recovery, without HTTP.
@Suite struct DaemonTests {
    /// A provider that holds records in memory, reads them once per update, and can be told to fail.
    final class FakeProvider: DDNSProvider {
        let label = "fake"
        let families: [AddressFamily] = [.v4, .v6]
        let canRead = true
        var records: [String: String] = [:]
        var calls: [String] = []
        var failWith: [String: DDNSError] = [:]
        func current(_ name: DDNSName, family: AddressFamily) throws(DDNSError) -> String? { records[name.fqdn] }
        func update(_ name: DDNSName, to address: WANAddress, dryRun: Bool) throws(DDNSError) -> UpdateResult {
            calls.append(name.fqdn)
            if let e = failWith[name.fqdn] ?? failWith["*"] { throw e }
            let old = records[name.fqdn]
            if old == address.description { return UpdateResult(.unchanged) }
            records[name.fqdn] = address.description
            return UpdateResult(old == nil ? .created : .updated(from: old))
        }
    }

    final class Clock: @unchecked Sendable { var t: Int64 = 1_000_000 }

    struct Lab {
        let dir = Env.tempDirectory("ddns-unit")
        let provider = FakeProvider()
        let clock = Clock()
        var logged: [String] = []

        /// The WAN address comes from a fake /proc/net/if_inet6 holding one stable global address.
        func daemon(secret: String = "s1", verifyInterval: Int = 3600, log: @escaping (String) -> Void = { _ in }) -> DDNSDaemon {
            if access(dir + "/if_inet6", F_OK) != 0 { Env.write(dir + "/if_inet6", "20014860000000000000000000000001 02 40 00 80 eth0\n") }
            var c = DDNSConfig()
            c.ipv4 = false
            c.ipv6 = true
            c.detectV6 = [.interface(name: nil)]
            c.verifyIntervalSeconds = verifyInterval
            let pc = ProviderConfig(kind: .cloudflare, api: "http://x", secret: .environment("T"), zone: "lab.test", names: ["a", "b", "c"])
            let clock = self.clock
            return DDNSDaemon(config: c, setups: [ProviderSetup(config: pc, provider: provider, secret: Secret(secret))],
                              detector: Detector(policy: AddressPolicy(allowNonGlobal: false), ifInet6Path: dir + "/if_inet6"),
                              statePath: dir + "/state.json", now: { clock.t }, log: log)
        }
    }

    @Test("a 429 holds back every name of the provider: one call, not one per name")
    func rateLimitPerProvider() {
        let lab = Lab()
        lab.provider.failWith["*"] = .rateLimited(retryAfter: 120)
        let lines = lab.daemon().cycle(dryRun: false, verify: true)
        #expect(lab.provider.calls == ["a.lab.test"], "\(lab.provider.calls)")
        #expect(lines.filter { $0.result.description.contains("rate-limited this token") }.count == 2, "\(lines)")
        lab.provider.failWith = [:]
        lab.clock.t += 60
        _ = lab.daemon().cycle(dryRun: false, verify: false)
        #expect(lab.provider.calls.count == 1, "no call inside Retry-After, for any name")
        lab.clock.t += 200
        _ = lab.daemon().cycle(dryRun: false, verify: false)
        #expect(lab.provider.calls.count == 4 && lab.provider.records.count == 3)
    }

    @Test("an auth error waits an hour; a new secret or a run by hand ends the wait; the recovery is logged")
    func authWait() {
        let lab = Lab()
        lab.provider.failWith["*"] = .auth("bad token")
        _ = lab.daemon().cycle(dryRun: false, verify: true)
        let afterError = lab.provider.calls.count
        lab.provider.failWith = [:]
        lab.clock.t += 60
        // Restarted with the same config and secret: still waiting.
        let same = lab.daemon().cycle(dryRun: false, verify: true)
        #expect(lab.provider.calls.count == afterError && same.allSatisfy { $0.result.description.hasPrefix("waiting") }, "\(same)")
        // Fixed secret: tried at once, and the recovery is logged.
        let log = LogBox()
        let fixed = lab.daemon(secret: "s2", log: { log.lines.append($0) }).cycle(dryRun: false, verify: true)
        #expect(fixed.allSatisfy { $0.result.description.hasPrefix("created") }, "\(fixed)")
        #expect(log.lines.contains { $0.contains("recovered after 1 failure(s)") }, "\(log.lines)")
        // By hand (--once): the wait after an error is skipped too.
        lab.provider.failWith["a.lab.test"] = .rejected("create is off")
        Env.write(lab.dir + "/if_inet6", "20014860000000000000000000000002 02 40 00 80 eth0\n")
        _ = lab.daemon(secret: "s2").cycle(dryRun: false, verify: true)
        lab.provider.failWith = [:]
        let d = lab.daemon(secret: "s2")
        #expect(d.cycle(dryRun: false, verify: true).first?.result.description.hasPrefix("waiting") == true)
        let calls = lab.provider.calls.count
        d.byHand = true
        let byHand = d.cycle(dryRun: false, verify: true)
        #expect(byHand.first?.result.description.hasPrefix("updated") == true && lab.provider.calls.count == calls + 3, "\(byHand)")
    }

    @Test("verify_interval: a record changed at the provider behind our back is read back and repaired")
    func driftRepair() {
        let lab = Lab()
        let d = lab.daemon(verifyInterval: 3600)
        _ = d.cycle(dryRun: false, verify: true)
        #expect(lab.provider.records["b.lab.test"] == "2001:4860::1")
        lab.provider.records["b.lab.test"] = "2001:db8::bad"
        lab.provider.calls = []
        lab.clock.t += 300
        _ = d.cycle(dryRun: false, verify: false)
        #expect(lab.provider.calls.isEmpty, "trusted between verifications")
        lab.clock.t += 3600
        let lines = d.cycle(dryRun: false, verify: false)
        #expect(lab.provider.records["b.lab.test"] == "2001:4860::1" && lab.provider.calls.count == 3, "\(lines)")
        #expect(lines.contains { $0.name == "b.lab.test" && $0.result == .updated(from: "2001:db8::bad", to: "2001:4860::1") })
        #expect(lines.filter(\.result.moved).map(\.name) == ["b.lab.test"], "only b moved")
    }

    @Test("an echo service's text is shown with control characters escaped")
    func escapedEcho() {
        let e = AddressRejection(address: "\u{1b}[31m1.2.3.4\nFAKE", reason: "not an IPv4 address")
        #expect(e.description == #""\x1b[31m1.2.3.4\x0aFAKE" is not a usable WAN address: not an IPv4 address"#, "\(e.description)")
    }

    @Test("a provider error that echoes the secret: never in the log, the cycle's line, the state file or status")
    func secretsRedacted() throws {
        var lab = Lab()
        let secret = "tok+en/with=odd&chars-0123456789"
        let encoded = percentEncoded(secret)
        #expect(encoded == "tok%2Ben%2Fwith%3Dodd%26chars-0123456789")
        lab.provider.failWith["*"] = .auth("token \(secret) is not valid (sent as ?password=\(encoded))")
        let logged = LogBox()
        let lines = lab.daemon(secret: secret, log: { logged.lines.append($0) }).cycle(dryRun: false, verify: true)
        lab.logged = logged.lines
        let state = try readText(lab.dir + "/state.json")
        let status = DDNSDaemon.status(DDNSState.load(lab.dir + "/state.json"), now: lab.clock.t).flatMap { $0 }
        for text in lab.logged + lines.map(\.description) + [state] + status {
            #expect(!text.contains(secret) && !text.contains(encoded), "\(text)")
        }
        #expect(lines.contains { $0.description.contains("token <secret> is not valid (sent as ?password=<secret>)") }, "\(lines)")
        var st = stat()
        #expect(stat(lab.dir + "/state.json", &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test("a state file from before redaction: the leaked secret is cleaned on start, and the file becomes 0600")
    func oldStateCleaned() throws {
        let lab = Lab()
        let secret = "s3cr3t-token-value"
        var old = DDNSState()
        var e = DDNSState.Entry()
        e.lastError = "authentication failed: \(secret) rejected"
        // Held by a rate limit, so the cycle leaves the entry (and its old error text) as it was.
        e.rateLimited = true
        e.nextAttemptAt = lab.clock.t + 3600
        old.entries[DDNSState.key(provider: "fake", name: DDNSName(fqdn: "a.lab.test", zone: "lab.test"), family: .v6)] = e
        try old.save(lab.dir + "/state.json")
        #expect(chmod(lab.dir + "/state.json", 0o644) == 0)
        _ = lab.daemon(secret: secret).cycle(dryRun: false, verify: true)
        let state = try readText(lab.dir + "/state.json")
        #expect(!state.contains(secret) && state.contains("authentication failed: <secret> rejected"), "\(state)")
        #expect(lab.provider.calls.isEmpty, "the entry was still waiting")
        var st = stat()
        #expect(stat(lab.dir + "/state.json", &st) == 0 && st.st_mode & 0o777 == 0o600)
    }

    @Test("secrets too short to be real are not redacted (they would shred every message)")
    func shortSecretsKept() {
        let r = Redactor([Secret("ab"), Secret("longer-secret")])
        #expect(r("ab longer-secret") == "ab <secret>")
    }

    final class LogBox: @unchecked Sendable { var lines: [String] = [] }
}

final class LogBox: @unchecked Sendable { var lines: [String] = [] }

enum Env {
    static func tempDirectory(_ tag: String) -> String {
        var tmpl = Array("/tmp/jamdns-\(tag)-XXXXXX".utf8CString)
        let p = tmpl.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: p!)
    }
    static func write(_ path: String, _ text: String) {
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
    }
}

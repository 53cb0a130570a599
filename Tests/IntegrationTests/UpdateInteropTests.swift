import DNSTSIG
import DNSWire
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// RFC 2136 UPDATE against the running server with the real clients (nsupdate, knsupdate) and, for the same
/// messages, Knot and BIND configured alike: every prerequisite and update kind, each error RCODE, the key
/// rules, TSIG failures, atomicity, and the zone afterwards compared record by record.
@Suite(.serialized) struct UpdateInteropTests {
    /// Test keys (not real secrets anywhere): 32 bytes each, base64.
    static let adminSecret = "dGhpcyBpcyB0aGUgYWRtaW4ga2V5IG9mIGphbWRucyE="
    static let ddnsSecret = "dGhpcyBpcyB0aGUgZGRucyBrZXkgb2YgamFtZG5zIDEh"
    static let zone = "jamfox.dev."

    static let config = """
        [store]
        poll_interval_ms = 100
        [zone."jamfox.dev."]
        allow_transfer = ["127.0.0.1"]
        update = ["key admin zone ANY", "key ddns subdomain vms.jamfox.dev. A AAAA TXT", "key ddns pattern _acme-challenge.*.jamfox.dev. TXT"]
        """

    static func addKeys(_ db: String, dir: String) throws {
        for (name, secret) in [("admin", adminSecret), ("ddns", ddnsSecret)] {
            Env.write(dir + "/\(name).secret", secret + "\n")
            let (s, out) = try runTool(Env.bin + "/dnsctl", ["--db", db, "tsig", "add", name, "--secret-file", dir + "/\(name).secret"], dir: dir)
            guard s == 0 else { throw TestFailure("dnsctl tsig add: \(out)") }
        }
    }

    static func startJamdns() throws -> JamdnsServer {
        let cfgDir = Env.tempDir("update-config")
        Env.write(cfgDir + "/jamdns.toml", config)
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", cfgDir + "/jamdns.toml"]) { db in try addKeys(db, dir: cfgDir) }
        // Keys are read at start: a signed UPDATE works at once.
        return s
    }

    /// Runs one nsupdate or knsupdate script (without `server` and `send`, which are added); the RCODE of its
    /// answer by name ("NOERROR", "NXRRSET", ...), read from the tool's printed answer.
    static func send(_ tool: String, port: UInt16, key: (String, String)?, _ lines: [String], dir: String) throws -> String {
        let path = try #require(Env.which(tool), "\(tool) is not installed: run scripts/test")
        let script = (["server 127.0.0.1 \(port)", "zone \(zone)"] + lines + ["send", "answer"]).joined(separator: "\n") + "\n"
        Env.write(dir + "/script.txt", script)
        var args: [String] = []
        if let (name, secret) = key { args += ["-y", "hmac-sha256:\(name):\(secret)"] }
        if tool == "nsupdate" { args.append("-v") }  // TCP, as Kea and Terraform's provider may use too
        let (_, out) = try runTool(path, args + [dir + "/script.txt"], dir: dir)
        for code in ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"] {
            if out.contains("status: \(code)") || out.contains("update failed: \(code)") || out.contains("rcode \(code)") { return code }
        }
        return "no answer: \(out)"
    }

    /// The zone as `kdig axfr` shows it, SOA left out (serials differ between servers by design).
    static func contents(port: UInt16, dir: String) throws -> [String] {
        let all = try #require(try TransferInteropTests.axfr(port: port, dir: dir), "AXFR from \(port) failed")
        return Array(Set(all.filter { !$0.contains(" soa ") })).sorted()
    }

    /// The differential script: each step one message, with what RFC 2136 says it gets. Every prerequisite
    /// kind (§2.4.1-5), every update kind (§2.5.1-4), the apex rules (§3.4.2.3-4), CNAME exclusivity, TTLs.
    static let steps: [(String, [String], String)] = [
        ("add two RRsets", ["update add a.dyn.jamfox.dev. 300 A 10.1.0.1", "update add a.dyn.jamfox.dev. 300 TXT \"one\""], "NOERROR"),
        ("name not in use, but it is", ["prereq nxdomain a.dyn.jamfox.dev.", "update add b.dyn.jamfox.dev. 300 A 10.1.0.2"], "YXDOMAIN"),
        ("name in use", ["prereq yxdomain a.dyn.jamfox.dev.", "update add b.dyn.jamfox.dev. 300 A 10.1.0.2"], "NOERROR"),
        ("name in use, but it is not", ["prereq yxdomain nothere.dyn.jamfox.dev.", "update add x.dyn.jamfox.dev. 300 A 10.1.0.9"], "NXDOMAIN"),
        ("RRset does not exist, but it does", ["prereq nxrrset a.dyn.jamfox.dev. A", "update add x.dyn.jamfox.dev. 300 A 10.1.0.9"], "YXRRSET"),
        ("RRset exists, but it does not", ["prereq yxrrset a.dyn.jamfox.dev. MX", "update add x.dyn.jamfox.dev. 300 A 10.1.0.9"], "NXRRSET"),
        ("RRset exists (value dependent)", ["prereq yxrrset a.dyn.jamfox.dev. A 10.1.0.1", "update add c.dyn.jamfox.dev. 300 A 10.1.0.3"], "NOERROR"),
        ("RRset exists with other values", ["prereq yxrrset a.dyn.jamfox.dev. A 10.9.9.9", "update add x.dyn.jamfox.dev. 300 A 10.1.0.9"], "NXRRSET"),
        ("a failed prerequisite changes nothing", ["prereq nxrrset c.dyn.jamfox.dev. A", "update add y.dyn.jamfox.dev. 300 A 10.1.0.8"], "YXRRSET"),
        ("a CNAME beside data is ignored", ["update add a.dyn.jamfox.dev. 300 CNAME b.dyn.jamfox.dev."], "NOERROR"),
        ("a second A joins the RRset", ["update add a.dyn.jamfox.dev. 300 A 10.1.0.4"], "NOERROR"),
        ("delete one RR", ["update delete a.dyn.jamfox.dev. A 10.1.0.1"], "NOERROR"),
        ("delete an RRset", ["update delete a.dyn.jamfox.dev. TXT"], "NOERROR"),
        ("delete every RRset of a name", ["update delete b.dyn.jamfox.dev."], "NOERROR"),
        ("the apex NS RRset is not deleted", ["update delete jamfox.dev. NS"], "NOERROR"),
        ("nor its last NS record", ["update delete jamfox.dev. NS rpi0.jamfox.dev."], "NOERROR"),
        ("nor its SOA", ["update delete jamfox.dev. SOA"], "NOERROR"),
        ("data beside a CNAME is ignored", ["update add cn.dyn.jamfox.dev. 300 CNAME a.dyn.jamfox.dev.", "update add cn.dyn.jamfox.dev. 300 A 10.1.0.5"], "NOERROR"),
        ("a CNAME replaces a CNAME", ["update add cn.dyn.jamfox.dev. 300 CNAME c.dyn.jamfox.dev."], "NOERROR"),
        ("DHCID, MX, SRV", ["update add d.dyn.jamfox.dev. 300 DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=",
                            "update add d.dyn.jamfox.dev. 300 MX 10 a.dyn.jamfox.dev.",
                            "update add _http._tcp.dyn.jamfox.dev. 300 SRV 0 5 80 a.dyn.jamfox.dev."], "NOERROR"),
        ("DHCID prerequisite (RFC 4703)", ["prereq nxrrset d.dyn.jamfox.dev. DHCID", "update add d.dyn.jamfox.dev. 300 A 10.1.0.6"], "YXRRSET"),
        ("DHCID value prerequisite", ["prereq yxrrset d.dyn.jamfox.dev. DHCID AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA=",
                                       "update add d.dyn.jamfox.dev. 300 A 10.1.0.6"], "NOERROR"),
        ("add and delete in one message", ["update add e.dyn.jamfox.dev. 300 A 10.1.0.7", "update delete e.dyn.jamfox.dev. A"], "NOERROR"),
        ("the same record twice", ["update add c.dyn.jamfox.dev. 300 A 10.1.0.3"], "NOERROR"),
    ]

    @Test("nsupdate and knsupdate with TSIG: every prerequisite and update kind gets the RCODE RFC 2136 gives, and jamdns, Knot and BIND end with the same zone")
    func differential() throws {
        let dir = Env.tempDir("update-diff")
        let s = try Self.startJamdns()
        defer { s.child.stop() }
        let knot = try UpdatePeer(.knot, zoneFile: Env.root + "/zones/jamfox.dev.zone", secret: Self.adminSecret)
        defer { knot.child.stop() }
        let bind = try UpdatePeer(.bind, zoneFile: Env.root + "/zones/jamfox.dev.zone", secret: Self.adminSecret)
        defer { bind.child.stop() }
        let before = try Self.contents(port: s.port, dir: dir)
        let knotBefore = try Self.contents(port: knot.port, dir: dir), bindBefore = try Self.contents(port: bind.port, dir: dir)
        #expect(knotBefore == before && bindBefore == before, "the three start from the same zone")
        var mismatches: [String] = []
        for (i, (what, lines, want)) in Self.steps.enumerated() {
            // jamdns gets every other message from each tool, so both are exercised over the whole list.
            let tool = i % 2 == 0 ? "nsupdate" : "knsupdate"
            let serial = TransferInteropTests.serial(port: s.port)
            let ours = try Self.send(tool, port: s.port, key: ("admin", Self.adminSecret), lines, dir: dir)
            let k = try Self.send("knsupdate", port: knot.port, key: ("admin", Self.adminSecret), lines, dir: dir)
            let b = try Self.send("nsupdate", port: bind.port, key: ("admin", Self.adminSecret), lines, dir: dir)
            #expect(ours == want, "\(what) (\(tool)): jamdns answered \(ours), RFC 2136 says \(want)")
            if k != ours || b != ours { mismatches.append("\(what): jamdns \(ours), Knot \(k), BIND \(b)") }
            // The serial moves once for a message that changed something, never for one that did not.
            let after = TransferInteropTests.serial(port: s.port)
            if want != "NOERROR" { #expect(after == serial, "\(what): a refused update moved the serial") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
        let ours = try Self.contents(port: s.port, dir: dir)
        let knotAfter = try Self.contents(port: knot.port, dir: dir), bindAfter = try Self.contents(port: bind.port, dir: dir)
        #expect(ours == knotAfter, "jamdns and Knot differ: jamdns only \(Set(ours).subtracting(knotAfter).sorted()), Knot only \(Set(knotAfter).subtracting(ours).sorted())")
        #expect(ours == bindAfter, "jamdns and BIND differ: jamdns only \(Set(ours).subtracting(bindAfter).sorted()), BIND only \(Set(bindAfter).subtracting(ours).sorted())")
        #expect(ours.contains { $0.hasPrefix("d.dyn.jamfox.dev. 300 in dhcid ") }, "\(ours)")
        #expect(ours.contains { $0.hasPrefix("jamfox.dev. 3600 in ns ") }, "the apex NS stays")
        // Who changed what, as dnsctl shows it.
        let (_, listed) = try s.dnsctl(["record", "list", "c.dyn.jamfox.dev.", "--source"])
        #expect(listed.contains("key admin."), "\(listed)")
        let log = Env.read(s.dir + "/jamdns.log")
        #expect(log.contains("UPDATE applied") && log.contains("by=key admin."), "\(log)")
        #expect(!log.contains(Self.adminSecret))
    }

    @Test("key rules: a key changes only what its rule names, a message reaching beyond is refused whole; unsigned, a wrong secret and an old signature are refused; NOTAUTH and NOTZONE")
    func rulesAndErrors() throws {
        let dir = Env.tempDir("update-rules")
        let s = try Self.startJamdns()
        defer { s.child.stop() }
        let ddns = ("ddns", Self.ddnsSecret)
        for tool in ["nsupdate", "knsupdate"] {
            let n = "web-\(tool).vms.jamfox.dev."
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update add \(n) 300 A 10.2.0.1"], dir: dir) == "NOERROR")
            #expect(DNSClient.ask(n, .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(10, 2, 0, 1)), "live when answered")
            // A type outside the rule, a name outside the rule, and an allowed record beside a refused one.
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update add \(n) 300 MX 10 \(n)"], dir: dir) == "REFUSED")
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update add www.jamfox.dev. 300 A 10.2.0.2"], dir: dir) == "REFUSED")
            let other = "other-\(tool).vms.jamfox.dev."
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update add \(other) 300 A 10.2.0.3", "update add grafana.jamfox.dev. 300 A 10.2.0.3"], dir: dir) == "REFUSED")
            #expect(DNSClient.ask(other, .a, port: s.port)?.answers.isEmpty == true, "nothing of a refused message is applied")
            // The ACME pattern: _acme-challenge at any depth, TXT only.
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update add _acme-challenge.jamfox.dev. 60 TXT \"t1\""], dir: dir) == "NOERROR")
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update add _acme-challenge.grafana.jamfox.dev. 60 TXT \"t2\""], dir: dir) == "NOERROR")
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update add _acme-challenge.jamfox.dev. 60 CNAME grafana.jamfox.dev."], dir: dir) == "REFUSED")
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update delete _acme-challenge.jamfox.dev. TXT"], dir: dir) == "NOERROR")
            // Deleting every RRset of a name reaches its types: only when each is the key's.
            #expect(try Self.send(tool, port: s.port, key: ("admin", Self.adminSecret), ["update add \(n) 300 MX 10 \(n)"], dir: dir) == "NOERROR")
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update delete \(n)"], dir: dir) == "REFUSED")
            #expect(try Self.send(tool, port: s.port, key: ("admin", Self.adminSecret), ["update delete \(n) MX"], dir: dir) == "NOERROR")
            #expect(try Self.send(tool, port: s.port, key: ddns, ["update delete \(n)"], dir: dir) == "NOERROR")
            // No key, and a wrong secret.
            #expect(try Self.send(tool, port: s.port, key: nil, ["update add unsigned.vms.jamfox.dev. 300 A 10.2.0.5"], dir: dir) == "REFUSED")
            let wrong = try Self.send(tool, port: s.port, key: ("ddns", "d3JvbmcgdGVzdCBzZWNyZXQgb2YgMzIgYnl0ZXMhISE="), ["update add w.vms.jamfox.dev. 300 A 10.2.0.6"], dir: dir)
            #expect(wrong == "NOTAUTH" || wrong.contains("BADSIG") || wrong.contains("no answer"), "\(wrong)")
        }
        // Built here: an old signature (BADTIME), a zone not served (NOTAUTH), a name outside the zone (NOTZONE),
        // a malformed zone section (FORMERR).
        let secret = try #require(TSIGKey.secret(base64: Self.ddnsSecret))
        let key = TSIGKey(name: try DNSName("ddns."), algorithm: .hmacSHA256, secret: secret)
        func update(_ zone: String, _ records: [ResourceRecord], signedAt: UInt64? = nil, zoneType: RRType = .soa) throws -> Message {
            var m = Message()
            m.header = Header(id: UInt16.random(in: 1...65535))
            m.header.opcode = .update
            m.questions = [Question(name: try DNSName(zone), type: zoneType, qclass: .in)]
            m.authority = records
            var bytes = m.wireBytes()
            if let t = signedAt { bytes = try #require(TSIG.sign(bytes, key: key, time: t)).message }
            let answer = try #require(DNSClient.udp(bytes, port: s.port))
            return try Message.parse(answer)
        }
        let now = UInt64(time(nil))
        let rr = ResourceRecord(name: try DNSName("t.vms.jamfox.dev."), type: .a, ttl: 300, rdata: .a(IPv4Address(10, 2, 0, 7)))
        #expect(try update(Self.zone, [rr], signedAt: now - 3600).rcode == .notAuth)
        #expect(try update("example.org.", [rr], signedAt: now).rcode == .notAuth)
        let outside = ResourceRecord(name: try DNSName("t.example.org."), type: .a, ttl: 300, rdata: .a(IPv4Address(10, 2, 0, 7)))
        #expect(try update(Self.zone, [outside], signedAt: now).rcode == .notZone)
        #expect(try update(Self.zone, [rr], signedAt: now, zoneType: .a).rcode == .formErr)
        #expect(try update(Self.zone, [rr], signedAt: now).rcode == .noError)
        let log = Env.read(s.dir + "/jamdns.log")
        #expect(log.contains("UPDATE refused") && log.contains("key=ddns.") && log.contains("client=127.0.0.1"), "\(log)")
        #expect(log.contains("may not change www.jamfox.dev. A"), "the reason is logged")
        #expect(!log.contains(Self.ddnsSecret) && !log.contains(Self.adminSecret))
    }

    @Test("10,000 updates from 4 clients at once: none lost, none applied twice, the serial moves once per message, the store passes integrity_check")
    func concurrentClients() throws {
        let cfgDir = Env.tempDir("update-load")
        Env.write(cfgDir + "/jamdns.toml", Self.config + "\n[update]\nrate = 100000\n")
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", cfgDir + "/jamdns.toml"]) { db in try Self.addKeys(db, dir: cfgDir) }
        defer { s.child.stop() }
        let secret = try #require(TSIGKey.secret(base64: Self.adminSecret))
        let key = TSIGKey(name: try DNSName("admin."), algorithm: .hmacSHA256, secret: secret)
        let port = s.port
        // One update first, which also sets the serial far ahead of any date-based serial (RFC 1982: a
        // YYYYMMDDnn of any year to come is behind it), so every message after it moves the serial by one,
        // midnight or not, and 10,000 messages move it by exactly 10,000.
        #expect(try Self.send("nsupdate", port: port, key: ("admin", Self.adminSecret), [
            "update add warmup.load.jamfox.dev. 60 A 10.9.0.1",
            "update add jamfox.dev. 3600 SOA rpi0.jamfox.dev. hostmaster.jamfox.dev. 4000000000 3600 600 1209600 300",
        ], dir: cfgDir) == "NOERROR")
        let before = try #require(TransferInteropTests.serial(port: s.port))
        #expect(before == 4_000_000_000, "the UPDATE's SOA sets the serial")
        let perClient = 2500
        let failures = Mutex(0)
        let threads = (0..<4).map { c in
            spawnTestThread {
                // Over TCP, one connection per client, each update waiting for its answer (as nsupdate does).
                guard let fd = DNSClient.connectTCP(port: port, timeoutMs: 3000) else { failures.withLock { $0 += perClient }; return }
                defer { close(fd) }
                for i in 0..<perClient {
                    var m = Message()
                    m.header = Header(id: UInt16(truncatingIfNeeded: i))
                    m.header.opcode = .update
                    m.questions = [Question(name: try! DNSName("jamfox.dev."), type: .soa, qclass: .in)]
                    m.authority = [ResourceRecord(name: try! DNSName("h\(i).c\(c).load.jamfox.dev."), type: .a, ttl: 60,
                                                  rdata: .a(IPv4Address(10, UInt8(c), UInt8(i >> 8), UInt8(i & 255))))]
                    let signed = TSIG.sign(m.wireBytes(), key: key, time: UInt64(time(nil)))!.message
                    DNSClient.sendFrame(fd, signed)
                    guard let answer = DNSClient.readFrame(fd), answer.count >= 12, answer[3] & 0x0F == 0 else { failures.withLock { $0 += 1 }; continue }
                }
            }
        }
        for t in threads { pthread_join(t, nil) }
        let failed = failures.withLock { $0 }
        #expect(failed == 0, "\(failed) updates not answered NOERROR")
        let after = try #require(TransferInteropTests.serial(port: s.port))
        #expect(after &- before == 10_000, "the serial moved \(after &- before) times for 10,000 messages")
        let records = try Self.contents(port: s.port, dir: cfgDir).filter { $0.contains(".load.jamfox.dev. ") }
        #expect(records.count == 10_001, "\(records.count) records, not 10,000 and the first")
        let sqlite = try #require(Env.which("sqlite3"), "sqlite3 is not installed: run scripts/test")
        let (rc, check) = try runTool(sqlite, [s.db, "PRAGMA integrity_check"], dir: cfgDir)
        #expect(rc == 0 && check.split(separator: "\n").first == "ok", "\(check)")
        // One journal entry per message, each moving the serial one step (the journal keeps the last 1,000).
        let (_, rows) = try runTool(sqlite, [s.db, "SELECT serial_from, serial_to FROM changes WHERE kind = 0 AND serial_to IS NOT NULL ORDER BY id"], dir: cfgDir)
        let chain = rows.split(separator: "\n").map { $0.split(separator: "|").compactMap { UInt32($0) } }.filter { $0.count == 2 }
        #expect(chain.count == 1000, "\(chain.count) journal entries")
        #expect(chain.allSatisfy { $0[1] == $0[0] &+ 1 } && zip(chain, chain.dropFirst()).allSatisfy { $0[1] == $1[0] }, "the serial chain is broken")
        #expect(chain.last?[1] == after)
    }
}

extension UpdateInteropTests {
    @Test("a jamdns secondary with forward_updates passes a signed UPDATE to its primary as it came (RFC 2136 §6): the primary applies it and the client gets the primary's signed answer")
    func forwardedBySecondary() throws {
        let dir = Env.tempDir("update-forward")
        let primaryCfg = Env.tempDir("forward-primary")
        Env.write(primaryCfg + "/jamdns.toml", Self.config)
        let primary = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", primaryCfg + "/jamdns.toml"]) { db in
            try Self.addKeys(db, dir: primaryCfg)
            try SecondaryInteropTests.addKey(db, dir: primaryCfg)
        }
        defer { primary.child.stop() }
        let cfgDir = Env.tempDir("forward-secondary")
        Env.write(cfgDir + "/jamdns.toml", SecondaryInteropTests.secondaryConfig("jamfox.dev.", primary: primary.port).replacing("allow_transfer = [\"127.0.0.0/8\"]", with: "allow_transfer = [\"127.0.0.0/8\"]\nforward_updates = true"))
        let s = try JamdnsServer(zones: Env.tempDir("no-zones"), extraArgs: ["--config", cfgDir + "/jamdns.toml"]) { db in
            try Self.addKeys(db, dir: cfgDir)
            try SecondaryInteropTests.addKey(db, dir: cfgDir)
        }
        defer { s.child.stop() }
        let serial = try #require(TransferInteropTests.serial(port: primary.port))
        #expect(TransferInteropTests.waitFor(15) { TransferInteropTests.serial(port: s.port) == serial } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
        // nsupdate checks the answer's TSIG: it verifies, so the primary's signature came back unchanged.
        let rcode = try Self.send("nsupdate", port: s.port, key: ("ddns", Self.ddnsSecret), ["update add fwd.vms.jamfox.dev. 300 A 10.4.0.1"], dir: dir)
        #expect(rcode == "NOERROR", "\(Env.read(s.dir + "/jamdns.log"))")
        #expect(DNSClient.ask("fwd.vms.jamfox.dev.", .a, port: primary.port)?.answers.first?.rdata == .a(IPv4Address(10, 4, 0, 1)))
        #expect(Env.read(s.dir + "/jamdns.log").contains("UPDATE passed to the primary"))
        // The primary's rules still apply: a name beyond the key's rule is refused there.
        #expect(try Self.send("nsupdate", port: s.port, key: ("ddns", Self.ddnsSecret), ["update add www.jamfox.dev. 300 A 10.4.0.2"], dir: dir) == "REFUSED")
    }
}

/// Knot or BIND as a primary that takes UPDATEs signed with key `admin`, for the differential.
final class UpdatePeer: Sendable {
    enum Kind: Sendable { case knot, bind }
    let port: UInt16
    let dir: String
    let child: Child

    init(_ kind: Kind, zoneFile: String, secret: String) throws {
        let dir = Env.tempDir("update-\(kind)")
        self.dir = dir
        Env.write(dir + "/jamfox.dev.zone", Env.read(zoneFile))
        let tool = kind == .knot ? "knotd" : "named"
        guard let path = Env.which(tool) else { throw TestFailure("\(tool) is not installed: run scripts/test, which installs it") }
        (port, child) = try startOnFreePort(tool, { port in
            let argv: [String]
            switch kind {
            case .knot:
                Env.write(dir + "/knot.conf", """
                    server:
                        listen: 127.0.0.1@\(port)
                        rundir: \(dir)
                    key:
                      - id: admin
                        algorithm: hmac-sha256
                        secret: \(secret)
                    acl:
                      - id: update
                        key: admin
                        action: update
                      - id: compare
                        address: 127.0.0.1
                        action: transfer
                    database:
                        storage: \(dir)
                    log:
                      - target: stderr
                        any: info
                    zone:
                      - domain: jamfox.dev.
                        file: \(dir)/jamfox.dev.zone
                        storage: \(dir)
                        acl: [update, compare]
                        zonefile-sync: -1
                        journal-content: changes
                    """)
                argv = [path, "-c", dir + "/knot.conf"]
            case .bind:
                Env.write(dir + "/named.conf", """
                    \(bindOptions(dir: dir, port: port))
                    key "admin" { algorithm hmac-sha256; secret "\(secret)"; };
                    zone "jamfox.dev" {
                        type primary;
                        file "\(dir)/jamfox.dev.zone";
                        allow-update { key admin; };
                    };
                    """)
                argv = [path, "-g", "-n", "1", "-c", dir + "/named.conf"]
            }
            let c = try Child(argv, log: dir + "/server.log")
            do { try waitUntilServing(port: port, zone: "jamfox.dev.") } catch { c.stop(); throw error }
            return (port, c)
        }, log: { _ in Env.read(dir + "/server.log") })
    }
}

import DNSTSIG
import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// jamdns as a secondary: of Knot (which keeps a journal, so the IXFR is Knot's own), of NSD (AXFR), and of
/// another jamdns (the pair answers the lab's names alike). The primary stopped: the copy keeps answering
/// until the SOA's expire, then SERVFAIL.
@Suite(.serialized) struct SecondaryInteropTests {
    static let secret = TransferInteropTests.secret

    static func zoneText(serial: UInt32, extra: String = "") -> String {
        // refresh 2 s, retry 1 s, expire 6 s: the timers run within the test.
        """
        $ORIGIN knot.test.
        $TTL 300
        @ SOA ns1 hostmaster \(serial) 2 1 6 60
        @ NS ns1
        ns1 A 192.0.2.53
        www A 192.0.2.80
        * A 192.0.2.80
        \(extra)
        """
    }

    static func knotConfig(port: UInt16, dir: String, notify: UInt16?) -> String {
        """
        server:
            listen: 127.0.0.1@\(port)
            rundir: \(dir)
        key:
          - id: xfr
            algorithm: hmac-sha256
            secret: \(secret)
        remote:
          - id: secondary
            address: 127.0.0.1@\(notify ?? 9)
            key: xfr
        acl:
          - id: transfer
            address: 127.0.0.1
            key: xfr
            action: transfer
        database:
            storage: \(dir)
        log:
          - target: stderr
            any: info
        zone:
          - domain: knot.test
            file: \(dir)/knot.test.zone
            storage: \(dir)
            acl: transfer
            zonefile-load: difference
            journal-content: changes
            zonefile-sync: -1
            \(notify == nil ? "" : "notify: secondary")
        """
    }

    static func secondaryConfig(_ zone: String, primary: UInt16) -> String {
        """
        [store]
        poll_interval_ms = 100
        [zone."\(zone)"]
        primaries = ["127.0.0.1:\(primary)"]
        tsig = "xfr"
        allow_transfer = ["127.0.0.0/8"]
        """
    }

    static func addKey(_ db: String, dir: String) throws {
        Env.write(dir + "/xfr.secret", secret + "\n")
        let (s, out) = try runTool(Env.bin + "/dnsctl", ["--db", db, "tsig", "add", "xfr", "--secret-file", dir + "/xfr.secret"], dir: dir)
        guard s == 0 else { throw TestFailure("dnsctl tsig add: \(out)") }
    }

    static func soaSerial(_ zone: String, port: UInt16) -> UInt32? {
        DNSClient.ask(zone, .soa, port: port, timeoutMs: 500)?.answers.first { $0.type == .soa }?.rdata.soa?.serial
    }

    @Test("secondary of Knot: AXFR with TSIG, Knot's own IXFR after NOTIFY, equal copies; the primary stopped: answers until expire, then SERVFAIL")
    func ofKnot() throws {
        let knotd = try #require(Env.which("knotd"))
        let knotc = try #require(Env.which("knotc"))
        let dir = Env.tempDir("knot-primary")
        Env.write(dir + "/knot.test.zone", Self.zoneText(serial: 1))
        let (knotPort, knot) = try startOnFreePort("knotd", { port in
            Env.write(dir + "/knot.conf", Self.knotConfig(port: port, dir: dir, notify: nil))
            let c = try Child([knotd, "-c", dir + "/knot.conf"], log: dir + "/knot.log")
            do { try waitUntilServing(port: port, zone: "knot.test.") } catch { c.stop(); throw error }
            return (port, c)
        }, log: { _ in Env.read(dir + "/knot.log") })
        var knotRunning = true
        defer { if knotRunning { knot.stop() } }

        let cfgDir = Env.tempDir("knot-secondary")
        Env.write(cfgDir + "/jamdns.toml", Self.secondaryConfig("knot.test.", primary: knotPort))
        let empty = Env.tempDir("no-zones")
        let s = try JamdnsServer(zones: empty, extraArgs: ["--config", cfgDir + "/jamdns.toml"]) { db in try Self.addKey(db, dir: cfgDir) }
        defer { s.child.stop() }
        #expect(TransferInteropTests.waitFor(15) { Self.soaSerial("knot.test.", port: s.port) == 1 } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
        #expect(DNSClient.ask("www.knot.test.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(192, 0, 2, 80)))

        // Knot learns where to send NOTIFY, then the zone file changes: Knot journals the difference.
        Env.write(dir + "/knot.conf", Self.knotConfig(port: knotPort, dir: dir, notify: s.port))
        _ = try runTool(knotc, ["-c", dir + "/knot.conf", "reload"], dir: dir)
        Env.write(dir + "/knot.test.zone", Self.zoneText(serial: 2, extra: "new A 192.0.2.99"))
        _ = try runTool(knotc, ["-c", dir + "/knot.conf", "zone-reload", "knot.test"], dir: dir)
        #expect(TransferInteropTests.waitFor(10) {
            DNSClient.ask("new.knot.test.", .a, port: s.port)?.answers.first?.rdata == .a(IPv4Address(192, 0, 2, 99))
        } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
        let log = Env.read(s.dir + "/jamdns.log")
        #expect(log.contains("type=IXFR") && log.contains("serial=2"), "\(log)")
        #expect(Env.read(dir + "/knot.log").contains("IXFR, outgoing"), "Knot served an IXFR")
        let theirs = try #require(try TransferInteropTests.axfr(port: knotPort, zone: "knot.test.", key: Self.secret, dir: cfgDir))
        #expect(try TransferInteropTests.axfr(port: s.port, zone: "knot.test.", dir: cfgDir) == theirs)

        // dnsctl lists it as a secondary with its primary and refresh times, asks for a refresh, and does not edit it.
        let (_, list) = try s.dnsctl(["zone", "list"])
        #expect(list.contains("secondary") && list.contains("127.0.0.1:\(knotPort)") && list.contains("NEXT REFRESH"), "\(list)")
        let (rs, refreshed) = try s.dnsctl(["zone", "refresh", "knot.test."])
        #expect(rs == 0 && refreshed.contains("checking its primaries now"), "\(refreshed)")
        let (ns, notOurs) = try s.dnsctl(["zone", "refresh", "other.test."])
        #expect(ns != 0 && notOurs.contains("not a secondary zone"), "\(notOurs)")
        let (status, out) = try s.dnsctl(["record", "add", "x.knot.test.", "A", "192.0.2.1"])
        #expect(status != 0 && out.contains("is a secondary"), "\(out)")

        // The primary stopped: still answering (well within expire), then SERVFAIL once 6 s pass unrefreshed.
        knot.stop()
        knotRunning = false
        #expect(DNSClient.ask("www.knot.test.", .a, port: s.port)?.rcode == .noError)
        #expect(TransferInteropTests.waitFor(20) { DNSClient.ask("www.knot.test.", .a, port: s.port)?.rcode == .servFail } != nil)
        #expect(Env.read(s.dir + "/jamdns.log").contains("expired"))
    }

    @Test("secondary of NSD (AXFR, TSIG): the copy equals NSD's")
    func ofNSD() throws {
        let nsd = try #require(Env.which("nsd"))
        let dir = Env.tempDir("nsd-primary")
        Env.write(dir + "/knot.test.zone", Self.zoneText(serial: 5, extra: "mail MX 10 www\ntxt TXT \"hello\""))
        let (nsdPort, child) = try startOnFreePort("nsd", { port in
            Env.write(dir + "/nsd.conf", """
                server:
                  ip-address: 127.0.0.1@\(port)
                  zonesdir: \(dir)
                  username: ""
                  chroot: ""
                  pidfile: \(dir)/nsd.pid
                  xfrdfile: \(dir)/xfrd.state
                  zonelistfile: \(dir)/zone.list
                  database: ""
                remote-control:
                  control-enable: no
                key:
                  name: xfr
                  algorithm: hmac-sha256
                  secret: "\(Self.secret)"
                zone:
                  name: knot.test
                  zonefile: knot.test.zone
                  provide-xfr: 127.0.0.1 xfr
                """)
            let c = try Child([nsd, "-d", "-c", dir + "/nsd.conf"], log: dir + "/nsd.log")
            do { try waitUntilServing(port: port, zone: "knot.test.") } catch { c.stop(); throw error }
            return (port, c)
        }, log: { _ in Env.read(dir + "/nsd.log") })
        defer { child.stop() }
        let cfgDir = Env.tempDir("nsd-secondary")
        Env.write(cfgDir + "/jamdns.toml", Self.secondaryConfig("knot.test.", primary: nsdPort))
        let s = try JamdnsServer(zones: Env.tempDir("no-zones"), extraArgs: ["--config", cfgDir + "/jamdns.toml"]) { db in try Self.addKey(db, dir: cfgDir) }
        defer { s.child.stop() }
        #expect(TransferInteropTests.waitFor(15) { Self.soaSerial("knot.test.", port: s.port) == 5 } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
        let theirs = try #require(try TransferInteropTests.axfr(port: nsdPort, zone: "knot.test.", key: Self.secret, dir: cfgDir))
        #expect(try TransferInteropTests.axfr(port: s.port, zone: "knot.test.", dir: cfgDir) == theirs)
    }

    @Test("a pair of jamdns servers: the secondary answers the dnsmasq-migration names exactly as the primary")
    func jamdnsPair() throws {
        let primaryCfg = Env.tempDir("pair-primary")
        Env.write(primaryCfg + "/jamdns.toml", "[store]\npoll_interval_ms = 100\n[zone.\"jamfox.dev.\"]\nallow_transfer = [\"key xfr\"]\n")
        let primary = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", primaryCfg + "/jamdns.toml"]) { db in try Self.addKey(db, dir: primaryCfg) }
        defer { primary.child.stop() }
        let cfgDir = Env.tempDir("pair-secondary")
        let mport = Env.freePort()
        Env.write(cfgDir + "/jamdns.toml", Self.secondaryConfig("jamfox.dev.", primary: primary.port) + "\n[metrics]\nlisten = \"127.0.0.1:\(mport)\"\n")
        let s = try JamdnsServer(zones: Env.tempDir("no-zones"), extraArgs: ["--config", cfgDir + "/jamdns.toml"]) { db in try Self.addKey(db, dir: cfgDir) }
        defer { s.child.stop() }
        let serial = try #require(Self.soaSerial("jamfox.dev.", port: primary.port))
        #expect(TransferInteropTests.waitFor(15) { Self.soaSerial("jamfox.dev.", port: s.port) == serial } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
        let (_, text) = httpGet(port: mport, "/metrics")
        #expect(metric(text, "jamdns_zone_serial{zone=\"jamfox.dev.\",role=\"secondary\"}") == Double(serial), "\(text)")
        #expect(metric(text, "jamdns_secondary_available{zone=\"jamfox.dev.\"}") == 1)
        #expect(metric(text, "jamdns_secondary_transfers_total{zone=\"jamfox.dev.\"}") == 1)
        #expect(metric(text, "jamdns_secondary_transfer_bytes{zone=\"jamfox.dev.\"}").map { $0 > 100 } == true)
        let names = DnsmasqDifferentialTests.questions
        #expect(names.count > 10)
        var differ: [String] = []
        for (name, type) in names {
            let a = DNSClient.ask(name, type, port: primary.port), b = DNSClient.ask(name, type, port: s.port)
            let sa = a.map { "\($0.rcode) \($0.answers.map { "\($0)" }.sorted()) \($0.authority.map { "\($0)" }.sorted())" }
            let sb = b.map { "\($0.rcode) \($0.answers.map { "\($0)" }.sorted()) \($0.authority.map { "\($0)" }.sorted())" }
            if sa != sb { differ.append("\(name) \(type): primary \(sa ?? "no answer"), secondary \(sb ?? "no answer")") }
        }
        #expect(differ.isEmpty, "\(differ.joined(separator: "\n"))")
    }

    @Test("catalog zones between two jamdns: members follow the primary's zones with no configuration on either side, and names it resolves upstream are resolved upstream by the secondary too")
    func catalogPair() throws {
        let internet = try KnotServer(zones: [("jamfox.dev.", Env.root + "/Tests/Fixtures/public-jamfox.dev.zone")])
        defer { internet.child.stop() }
        let catalog = "catalog.lab.internal."
        func primaryConfig(notify: UInt16?) -> String {
            """
            [store]
            poll_interval_ms = 100
            [resolver]
            upstreams = ["127.0.0.1#\(internet.port)"]
            [catalog]
            publish = "\(catalog)"
            [zone."\(catalog)"]
            allow_transfer = ["key xfr"]
            notify_key = "xfr"
            \(notify.map { "notify = [\"127.0.0.1:\($0)\"]" } ?? "")
            """
        }
        let pDir = Env.tempDir("catalog-primary")
        Env.write(pDir + "/jamdns.toml", primaryConfig(notify: nil))
        // (The key only: a store with a zone in it would not be seeded from zones/.)
        let primary = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", pDir + "/jamdns.toml"]) { db in try Self.addKey(db, dir: pDir) }
        defer { primary.child.stop() }
        let (zs, zoneOut) = try primary.dnsctl(["zone", "add", "extra.test."])
        #expect(zs == 0, "\(zoneOut)")
        let (us, upOut) = try primary.dnsctl(["upstream", "add", "docs.jamfox.dev."])
        #expect(us == 0, "\(upOut)")

        let sDir = Env.tempDir("catalog-secondary")
        Env.write(sDir + "/jamdns.toml", """
            [store]
            poll_interval_ms = 100
            [resolver]
            upstreams = ["127.0.0.1#\(internet.port)"]
            [zone."\(catalog)"]
            primaries = ["127.0.0.1:\(primary.port)"]
            tsig = "xfr"
            catalog = true
            """)
        let s = try JamdnsServer(zones: Env.tempDir("no-zones"), extraArgs: ["--config", sDir + "/jamdns.toml"]) { db in try Self.addKey(db, dir: sDir) }
        defer { s.child.stop() }
        // Both members arrive: the seeded zone and the one added with dnsctl, neither named in any config.
        for zone in ["jamfox.dev.", "extra.test."] {
            let want = try #require(Self.soaSerial(zone, port: primary.port))
            #expect(TransferInteropTests.waitFor(15) { Self.soaSerial(zone, port: s.port) == want } != nil, "\(zone): \(Env.read(s.dir + "/jamdns.log"))")
        }
        // The name the primary resolves upstream: the catalog's ext. property makes the secondary do the same.
        let upstreamAnswer = ResourceRecord(name: try DNSName("docs.jamfox.dev."), type: .a, ttl: 300, rdata: .a(IPv4Address(203, 0, 113, 10)))
        #expect(TransferInteropTests.waitFor(10) { DNSClient.ask("docs.jamfox.dev.", .a, port: s.port, rd: true)?.answers.first?.rdata == upstreamAnswer.rdata } != nil)
        #expect(DNSClient.ask("docs.jamfox.dev.", .a, port: primary.port, rd: true)?.answers.first?.rdata == upstreamAnswer.rdata)

        // The primary now NOTIFYs the secondary of catalog changes: a zone added there appears here, one removed goes.
        Env.write(pDir + "/jamdns.toml", primaryConfig(notify: s.port))
        primary.child.signal(SIGHUP)
        #expect(TransferInteropTests.waitFor(10) { Env.read(primary.dir + "/jamdns.log").contains("config reloaded") } != nil)
        let (ar, addOut) = try primary.dnsctl(["zone", "add", "later.test."])
        #expect(ar == 0, "\(addOut)")
        #expect(TransferInteropTests.waitFor(10) { Self.soaSerial("later.test.", port: s.port) != nil } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
        let (rr, rmOut) = try primary.dnsctl(["zone", "rm", "extra.test."])
        #expect(rr == 0, "\(rmOut)")
        #expect(TransferInteropTests.waitFor(10) { DNSClient.ask("extra.test.", .soa, port: s.port)?.rcode == .refused } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
        let (_, list) = try s.dnsctl(["zone", "list"])
        #expect(!list.contains("extra.test.") && list.contains("later.test."), "\(list)")
    }
}

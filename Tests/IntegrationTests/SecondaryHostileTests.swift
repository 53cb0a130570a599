import DNSTSIG
import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A primary that misbehaves: each broken transfer is refused and the secondary keeps serving its old copy,
/// and a good transfer afterwards still goes through (so the refusals were real attempts, not a stuck timer).
@Suite(.serialized) struct SecondaryHostileTests {
    @Test("truncated, a record outside the zone, a serial going backwards, a TSIG replayed after the fudge: each leaves the old copy serving")
    func hostilePrimary() throws {
        let secret = Array(repeating: UInt8(7), count: 32)
        let key = TSIGKey(name: try DNSName("xfr."), algorithm: .hmacSHA256, secret: secret)
        let primary = try FakePrimary(mode: .good(serial: 10, address: 1), key: key)
        defer { primary.stop() }
        let dir = Env.tempDir("hostile-secondary")
        Env.write(dir + "/jamdns.toml", """
            [store]
            poll_interval_ms = 100
            [zone."hostile.test."]
            primaries = ["127.0.0.1:\(primary.port)"]
            tsig = "xfr"
            """)
        let s = try JamdnsServer(zones: Env.tempDir("no-zones"), extraArgs: ["--config", dir + "/jamdns.toml"]) { db in
            Env.write(dir + "/xfr.secret", Base64.encode(secret) + "\n")
            let (st, out) = try runTool(Env.bin + "/dnsctl", ["--db", db, "tsig", "add", "xfr", "--secret-file", dir + "/xfr.secret"], dir: dir)
            guard st == 0 else { throw TestFailure(out) }
        }
        defer { s.child.stop() }
        func www() -> ResourceRecord? { DNSClient.ask("www.hostile.test.", .a, port: s.port)?.answers.first }
        func serial() -> UInt32? { DNSClient.ask("hostile.test.", .soa, port: s.port)?.answers.first?.rdata.soa?.serial }
        #expect(TransferInteropTests.waitFor(15) { serial() == 10 } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
        let good = www()
        #expect(good?.rdata == .a(IPv4Address(192, 0, 2, 1)))

        let cases: [(FakePrimary.Mode, String)] = [
            (.truncated(serial: 11), "closed the connection mid-transfer"),
            (.outOfZone(serial: 11), "outside the zone"),
            (.backwards(advertised: 11, sent: 9), "not newer than our 10"),
            (.staleSignature(serial: 11), "badTime"),
        ]
        for (mode, why) in cases {
            primary.set(mode)
            let before = primary.transfers.load(ordering: .relaxed)
            let (rs, out) = try s.dnsctl(["zone", "refresh", "hostile.test."])
            #expect(rs == 0, "\(out)")
            #expect(TransferInteropTests.waitFor(10) { primary.transfers.load(ordering: .relaxed) > before && Env.read(s.dir + "/jamdns.log").contains(why) } != nil,
                    "\(mode): \(Env.read(s.dir + "/jamdns.log"))")
            #expect(serial() == 10 && www()?.rdata == good?.rdata, "\(mode) changed the copy")
        }
        // And then a good one: it is taken.
        primary.set(.good(serial: 12, address: 2))
        _ = try s.dnsctl(["zone", "refresh", "hostile.test."])
        #expect(TransferInteropTests.waitFor(10) { serial() == 12 && www()?.rdata == .a(IPv4Address(192, 0, 2, 2)) } != nil, "\(Env.read(s.dir + "/jamdns.log"))")
    }
}

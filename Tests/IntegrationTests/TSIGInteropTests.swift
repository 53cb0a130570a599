import DNSTSIG
import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// TSIG against BIND's dig: a request it signs verifies here, and an answer signed here verifies there (and
/// one with a byte changed does not). The socket is bound to port 0: the kernel picks, nothing is probed.
@Suite(.serialized) struct TSIGInteropTests {
    static let secret = Array("a shared secret of 32 bytes long".utf8)
    static let secretBase64 = "YSBzaGFyZWQgc2VjcmV0IG9mIDMyIGJ5dGVzIGxvbmc="

    /// One question from `dig -y`, answered by `answer` (nil: not answered); dig's output.
    func exchange(algorithm: TSIGAlgorithm, answer: (TSIG.Split, TSIGKey) -> [UInt8]?) throws -> (verified: Result<TSIGKey, TSIG.Failure>, dig: String) {
        let key = TSIGKey(name: try DNSName("transfer.key."), algorithm: algorithm, secret: Self.secret)
        return try exchange(key: key, digKey: ["-y", "\(algorithm.mnemonic):transfer.key:\(Self.secretBase64)"], answer: answer)
    }

    /// The same with `digKey` telling dig its key (`-y ...` or `-k FILE`) and `key` the one checked here.
    func exchange(key: TSIGKey, digKey: [String], answer: (TSIG.Split, TSIGKey) -> [UInt8]?) throws -> (verified: Result<TSIGKey, TSIG.Failure>, dig: String) {
        let dig = try #require(Env.which("dig"))
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let port = UInt16(bigEndian: sin.sin_port)
        let dir = Env.tempDir("tsig")
        let child = try Child([dig, "@127.0.0.1", "-p", "\(port)"] + digKey + ["jamfox.dev", "SOA", "+tries=1", "+time=5"], log: dir + "/dig.log")
        var buf = [UInt8](repeating: 0, count: 4096)
        var from = sockaddr_in()
        var fromLen = socklen_t(MemoryLayout<sockaddr_in>.size)
        let n = withUnsafeMutablePointer(to: &from) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &fromLen) }
        }
        guard n > 0 else { throw TestFailure("dig sent nothing") }
        let split = try #require(try TSIG.split(Array(buf[..<n])), "dig's query has no TSIG")
        let verified = TSIG.verify(split, keys: { $0 == key.name ? key : nil }, now: UInt64(time(nil)))
        if let reply = answer(split, key) {
            _ = withUnsafePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, fromLen) }
            }
        }
        _ = child.wait(ms: 15_000)
        return (verified, Env.read(dir + "/dig.log"))
    }

    /// The question turned into an empty NOERROR answer, signed over the request's MAC.
    static func signedAnswer(_ q: TSIG.Split, _ key: TSIGKey) -> [UInt8]? {
        var m = q.unsigned
        m[2] |= 0x84  // QR, AA
        return TSIG.sign(m, key: key, time: UInt64(time(nil)), requestMAC: q.tsig.mac)?.message
    }

    @Test("dig's signed query verifies, for every algorithm dig speaks; our signed answer verifies in dig", arguments: [
        TSIGAlgorithm.hmacSHA256, .hmacSHA512, .hmacSHA1, .hmacMD5,
    ])
    func digBothWays(algorithm: TSIGAlgorithm) throws {
        let (verified, out) = try exchange(algorithm: algorithm, answer: Self.signedAnswer)
        #expect(verified == .success(TSIGKey(name: try DNSName("transfer.key."), algorithm: algorithm, secret: Self.secret)))
        #expect(out.contains("status: NOERROR"), "\(out)")
        #expect(!out.contains("verify failure") && !out.contains("Couldn't verify"), "\(out)")
        #expect(out.contains("TSIG PSEUDOSECTION") && out.contains(algorithm.mnemonic), "\(out)")
    }

    @Test("an answer with its MAC, or its signed bytes, changed fails dig's check; a wrong secret is BADSIG here")
    func digRefusesBentAnswers() throws {
        for bend in [{ (m: inout [UInt8]) in m[m.count - 10] ^= 1 }, { (m: inout [UInt8]) in m[3] ^= 0x10 }] {
            let (_, out) = try exchange(algorithm: .hmacSHA256) { q, key in
                guard var m = Self.signedAnswer(q, key) else { return nil }
                bend(&m)
                return m
            }
            #expect(out.contains("Couldn't verify signature: tsig verify failure"), "\(out)")
        }
        // dig's query checked with another secret.
        let wrong = TSIGKey(name: try DNSName("transfer.key."), algorithm: .hmacSHA256, secret: Array("not the secret".utf8))
        _ = try exchange(algorithm: .hmacSHA256) { q, key in
            #expect(TSIG.verify(q, keys: { _ in wrong }, now: UInt64(time(nil))) == .failure(.badSig))
            return Self.signedAnswer(q, key)
        }
    }

    @Test("the key dnsctl tsig add prints is a key file dig -k reads: its signed query verifies with that key")
    func dnsctlKeyFile() throws {
        let dir = Env.tempDir("tsig-key")
        let (rc, out) = try runTool(Env.bin + "/dnsctl", ["tsig", "add", "xfr.jamfox.dev", "--db", dir + "/s.sqlite"], dir: dir)
        #expect(rc == 0, "\(out)")
        // The tool's output is stdout then stderr; the key file is stdout, without the "created the store" line.
        Env.write(dir + "/xfr.key", out.split(separator: "\n").filter { !$0.hasPrefix("created the store") }.joined(separator: "\n") + "\n")
        // The secret as printed, read back the way a peer would.
        let quoted = try #require(out.split(separator: "\"").dropFirst(3).first, "\(out)")
        let secret = try #require(TSIGKey.secret(base64: String(quoted)))
        #expect(secret.count == 32)
        let key = TSIGKey(name: try DNSName("xfr.jamfox.dev."), algorithm: .hmacSHA256, secret: secret)
        let (verified, dig) = try exchange(key: key, digKey: ["-k", dir + "/xfr.key"], answer: Self.signedAnswer)
        #expect(verified == .success(key), "\(dig)")
        #expect(dig.contains("status: NOERROR") && !dig.contains("verify failure"), "\(dig)")
        // list shows the key and never its secret.
        let (_, listed) = try runTool(Env.bin + "/dnsctl", ["tsig", "list", "--db", dir + "/s.sqlite"], dir: dir)
        #expect(listed.contains("xfr.jamfox.dev.") && !listed.contains(String(quoted)), "\(listed)")
    }

    @Test("OpenSSL's libcrypto is opened on first use: a server without TSIG keys never maps it; a key added with dnsctl loads it and signed queries are answered signed")
    func cryptoLoadedOnFirstUse() throws {
        let s = try JamdnsServer(zones: Env.root + "/zones")
        defer { s.child.stop() }
        func mapsCrypto() -> Bool { Env.read("/proc/\(s.child.pid)/maps").contains("libcrypto.so") }
        #expect(DNSClient.ask("vs0.jamfox.dev.", .a, port: s.port)?.rcode == .noError)
        #expect(!mapsCrypto(), "libcrypto mapped with no TSIG key in the store")
        let secret = Array(repeating: UInt8(0x3C), count: 32)
        Env.write(s.dir + "/k.secret", Base64.encode(secret) + "\n")
        let (st, out) = try s.dnsctl(["tsig", "add", "ops", "--secret-file", s.dir + "/k.secret"])
        #expect(st == 0, "\(out)")
        // The store watcher picks the key up (and loads libcrypto then); until it has, the key is unknown.
        let kdig = try #require(Env.which("kdig"))
        var answer = ""
        for _ in 0..<50 {
            answer = try runTool(kdig, ["@127.0.0.1", "-p", "\(s.port)", "-y", "hmac-sha256:ops:\(Base64.encode(secret))", "vs0.jamfox.dev", "A",
                                        "+retry=0", "+time=3"], dir: s.dir).1
            if !answer.contains("BADKEY") { break }
            usleep(100_000)
        }
        #expect(answer.contains("NOERROR") && answer.contains("TSIG") && !answer.contains("failed"), "\(answer)")
        #expect(mapsCrypto(), "a key is in use, yet libcrypto is not mapped")
    }

    @Test("against the running server, one case per TSIG error class: kdig with the key gets a signed answer, an unknown key BADKEY, a wrong secret BADSIG; a query signed an hour ago BADTIME with the server's time; a MAC cut below half FORMERR")
    func serverErrorClasses() throws {
        let dir = Env.tempDir("tsig-server")
        let secret = Array(repeating: UInt8(0x5A), count: 32)
        let s = try JamdnsServer(zones: Env.root + "/zones") { db in
            Env.write(dir + "/k.secret", Base64.encode(secret) + "\n")
            let (st, out) = try runTool(Env.bin + "/dnsctl", ["--db", db, "tsig", "add", "ops", "--secret-file", dir + "/k.secret"], dir: dir)
            guard st == 0 else { throw TestFailure(out) }
        }
        defer { s.child.stop() }
        let kdig = try #require(Env.which("kdig"))
        func ask(_ key: String) throws -> String {
            try runTool(kdig, ["@127.0.0.1", "-p", "\(s.port)", "-y", key, "vs0.jamfox.dev", "A", "+retry=0", "+time=3"], dir: dir).1
        }
        let good = try ask("hmac-sha256:ops:\(Base64.encode(secret))")
        #expect(good.contains("NOERROR") && good.contains("TSIG") && !good.contains("failed"), "\(good)")
        let badKey = try ask("hmac-sha256:nobody:\(Base64.encode(secret))")
        #expect(badKey.contains("BADKEY"), "\(badKey)")
        let badSig = try ask("hmac-sha256:ops:\(Base64.encode(Array(repeating: 1, count: 32)))")
        #expect(badSig.contains("BADSIG"), "\(badSig)")
        // kdig signs with the clock: an hour-old signature is made here.
        let key = TSIGKey(name: try DNSName("ops."), algorithm: .hmacSHA256, secret: secret)
        let q = Message.query(try DNSName("vs0.jamfox.dev."), .a, id: 77, recursionDesired: false, edns: nil).wireBytes()
        let now = UInt64(time(nil))
        let (old, mac) = TSIG.sign(q, key: key, time: now - 3600)!
        let r = try #require(DNSClient.udp(old, port: s.port))
        #expect(r[3] & 0x0F == 9)  // NOTAUTH
        let split = try #require(try TSIG.split(r))
        #expect(split.tsig.error == TSIGError.badTime.rawValue && split.tsig.otherData.count == 6)
        #expect((try? TSIG.verify(split, keys: { _ in key }, now: now - 3600, requestMAC: mac).get()) == key)
        // A MAC cut to 8 bytes (below both 10 and half of 32): FORMERR (RFC 8945 §5.2.2.1).
        let cut = try #require(try TSIG.split(TSIG.sign(q, key: key, time: now)!.message))
        var t = cut.tsig
        t.mac = Array(t.mac.prefix(8))
        let short = TSIG.append(t, to: cut.unsigned)
        let f = try #require(DNSClient.udp(short, port: s.port))
        #expect(f[3] & 0x0F == 1, "FORMERR, got rcode \(f[3] & 0x0F)")
    }
}

import DNSWire
import Testing
import TestSupport
@testable import DNSTSIG

#if canImport(Glibc)
import Glibc
#endif

/// TSIG (RFC 8945) on wire bytes: the HMACs, signing, and each way verification fails.
@Suite struct TSIGTests {
    static let key = TSIGKey(name: try! DNSName("Transfer.Key."), algorithm: .hmacSHA256, secret: Array("a shared secret of 32 bytes long".utf8))
    static let now: UInt64 = 1_795_262_400

    func query(id: UInt16 = 0x1234) -> [UInt8] {
        Message(header: Header(id: id), questions: [Question(name: try! DNSName("jamfox.dev."), type: .soa)]).wireBytes()
    }

    func keys(_ n: DNSName) -> TSIGKey? { n == Self.key.name ? Self.key : nil }

    @Test("HMACs through OpenSSL match RFC 4231 test case 2 and RFC 2202 for MD5 and SHA-1")
    func hmacVectors() throws {
        let key = Array("Jefe".utf8), data = Array("what do ya want for nothing?".utf8)
        func hex(_ b: [UInt8]?) -> String { (b ?? []).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined() }
        #expect(hex(TSIGAlgorithm.hmacSHA256.mac(key: key, data)) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(hex(TSIGAlgorithm.hmacSHA512.mac(key: key, data)).hasPrefix("164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"))
        #expect(hex(TSIGAlgorithm.hmacSHA1.mac(key: key, data)) == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79")
        #expect(hex(TSIGAlgorithm.hmacMD5.mac(key: key, data)) == "750c783e6ab0b503eaa86e310a5db738")
    }

    @Test("a signed request verifies; the answer signed over its MAC verifies against it; algorithm names by mnemonic")
    func roundTrip() throws {
        let (signed, mac) = try #require(TSIG.sign(query(), key: Self.key, time: Self.now))
        #expect(mac.count == 32)
        let s = try #require(try TSIG.split(signed))
        #expect(s.unsigned == query())
        #expect(s.tsig.keyName == Self.key.name && s.tsig.originalID == 0x1234 && s.tsig.fudge == 300)
        #expect(try TSIG.verify(s, keys: keys, now: Self.now + 299).get().name == Self.key.name)
        // The answer covers the request's MAC: verified with it, refused without it.
        let (answer, _) = try #require(TSIG.sign(query(id: 0x1234), key: Self.key, time: Self.now, requestMAC: mac))
        let a = try #require(try TSIG.split(answer))
        #expect(throws: Never.self) { try TSIG.verify(a, keys: keys, now: Self.now, requestMAC: mac).get() }
        #expect(TSIG.verify(a, keys: keys, now: Self.now) == .failure(.badSig))
        // A message whose ID was changed in transit (a forwarder may) verifies through the original ID.
        var renumbered = signed
        renumbered[0] = 0x55
        #expect(throws: Never.self) { try TSIG.verify(try #require(try TSIG.split(renumbered)), keys: keys, now: Self.now).get() }
        for a in TSIGAlgorithm.all { #expect(TSIGAlgorithm(mnemonic: a.mnemonic) == a && TSIGAlgorithm(name: a.name) == a) }
        #expect(TSIGAlgorithm(mnemonic: "HMAC-MD5.SIG-ALG.REG.INT") == .hmacMD5)
        #expect(TSIGAlgorithm(mnemonic: "hmac-sha3") == nil)
        #expect(!"\(Self.key)".contains("secret"))
    }

    @Test("each failure: unknown key or algorithm, a changed byte, a time outside the fudge, a MAC cut too short")
    func failures() throws {
        let (signed, _) = try #require(TSIG.sign(query(), key: Self.key, time: Self.now))
        let s = try #require(try TSIG.split(signed))
        #expect(TSIG.verify(s, keys: { _ in nil }, now: Self.now) == .failure(.badKey))
        let otherAlgorithm = TSIGKey(name: Self.key.name, algorithm: .hmacSHA512, secret: Self.key.secret)
        #expect(TSIG.verify(s, keys: { _ in otherAlgorithm }, now: Self.now) == .failure(.badKey))
        let wrongSecret = TSIGKey(name: Self.key.name, algorithm: .hmacSHA256, secret: Array("another secret".utf8))
        #expect(TSIG.verify(s, keys: { _ in wrongSecret }, now: Self.now) == .failure(.badSig))
        // Every byte of the question counts.
        for i in 12..<query().count {
            var bent = signed
            bent[i] ^= 0x20
            guard let b = try? TSIG.split(bent) else { continue }
            #expect(TSIG.verify(b, keys: keys, now: Self.now) != .success(Self.key), "byte \(i)")
        }
        // The MAC is checked before the time: a stale message with a good MAC is BADTIME, a bad one BADSIG.
        #expect(TSIG.verify(s, keys: keys, now: Self.now + 301) == .failure(.badTime))
        #expect(TSIG.verify(s, keys: keys, now: Self.now - 301) == .failure(.badTime))
        // Truncated MACs (§5.2.2.1): 16 of 32 bytes is accepted, 15 or 9 or 33 is FORMERR.
        for (length, ok) in [(16, true), (15, false), (9, false)] {
            var cut = s.tsig
            cut.mac = Array(cut.mac.prefix(length))
            let r = TSIG.verify(TSIG.Split(unsigned: s.unsigned, tsig: cut), keys: keys, now: Self.now)
            if ok { #expect(throws: Never.self) { try r.get() } } else {
                guard case .failure(.formErr) = r else { Issue.record("\(length) bytes: \(r)"); continue }
            }
        }
        var long = s.tsig
        long.mac += [0]
        guard case .failure(.formErr) = TSIG.verify(TSIG.Split(unsigned: s.unsigned, tsig: long), keys: keys, now: Self.now) else {
            Issue.record("a 33-byte MAC was not FORMERR"); return
        }
    }

    @Test("a TSIG that is not the last record, two of them, or a truncated one: FORMERR, never a trap")
    func malformed() throws {
        let (signed, _) = try #require(TSIG.sign(query(), key: Self.key, time: Self.now))
        let (twice, _) = try #require(TSIG.sign(signed, key: Self.key, time: Self.now))
        #expect(throws: TSIG.Failure.self) { try TSIG.split(twice) }
        for n in 0..<signed.count {
            let cut = Array(signed.prefix(n))
            _ = try? TSIG.split(cut)  // must not trap; a cut inside the header or a record throws
        }
        #expect(throws: TSIG.Failure.self) { try TSIG.split(Array(signed.dropLast(3))) }
        #expect(try TSIG.split(query()) == nil)
        var rng = SeededRandom(default: 0x75_1600)
        for _ in 0..<20_000 {
            var m = signed
            for _ in 0..<(1 + rng.next(below: 4)) { m[rng.next(below: m.count)] = UInt8(truncatingIfNeeded: rng.next()) }
            if let s = try? TSIG.split(m) { _ = TSIG.verify(s, keys: keys, now: Self.now) }
        }
    }

    @Test("base64 of secrets: round trips of every length, wrapped text, and what is not base64")
    func base64() {
        for n in 0..<70 {
            let b = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(TSIGKey.secret(base64: Base64.encode(b)) == (n == 0 ? nil : b), "\(n) bytes")
        }
        #expect(Base64.encode(Array("fuzz secret".utf8)) == "ZnV6eiBzZWNyZXQ=")
        #expect(TSIGKey.secret(base64: "ZnV6eiBz\n ZWNyZXQ=") == Array("fuzz secret".utf8))
        for bad in ["", "abc", "ab=c", "a===", "!!!!", "ZnV6eiBzZWNyZXQ"] { #expect(TSIGKey.secret(base64: bad) == nil, "\(bad)") }
        #expect(TSIGKey.generate(name: try! DNSName("k."), algorithm: .hmacSHA256)?.secretLength == 32)
    }

    /// Tests/Fixtures/tsig-signed-query.hex: a query signed by Python's hmac module (the fuzz seed too).
    static func fixture() -> [UInt8] {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        guard let f = fopen(parts.joined(separator: "/") + "/Fixtures/tsig-signed-query.hex", "r") else { return [] }
        defer { fclose(f) }
        var text: [UInt8] = [], buf = [UInt8](repeating: 0, count: 4096)
        while case let n = fread(&buf, 1, buf.count, f), n > 0 { text += buf[0..<n] }
        let hex = text.split(separator: 0x0A).filter { $0.first != UInt8(ascii: ";") }.joined()
        func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10 }
        let digits = Array(hex)
        return stride(from: 0, to: digits.count - 1, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
    }

    @Test("a query signed by another implementation (Python's hmac) verifies; a day later it is BADTIME")
    func foreignSignature() throws {
        let m = Self.fixture()
        #expect(m.count == 109)
        let key = TSIGKey(name: try DNSName("fuzz.key."), algorithm: .hmacSHA256, secret: Array("fuzz secret".utf8))
        let s = try #require(try TSIG.split(m))
        #expect(TSIG.verify(s, keys: { _ in key }, now: 1_795_262_400) == .success(key))
        #expect(TSIG.verify(s, keys: { _ in key }, now: 1_795_262_400 + 86_400) == .failure(.badTime))
    }

    @Test("BADKEY and BADSIG answers carry no MAC; BADTIME's carries the server's time and is signed")
    func errorAnswers() throws {
        let (_, mac) = try #require(TSIG.sign(query(), key: Self.key, time: Self.now))
        let (bad, noMAC) = try #require(TSIG.sign(query(), key: Self.key, time: Self.now, requestMAC: mac, error: .badSig))
        #expect(noMAC.isEmpty)
        #expect(try #require(try TSIG.split(bad)).tsig.error == TSIGError.badSig.rawValue)
        let (late, _) = try #require(TSIG.sign(query(), key: Self.key, time: Self.now, requestMAC: mac, error: .badTime, otherData: TSIG.timeData(Self.now)))
        let l = try #require(try TSIG.split(late))
        #expect(l.tsig.otherData == [0, 0, 0x6B, 0x01, 0x87, 0xC0] && l.tsig.error == 18)
        #expect(throws: Never.self) { try TSIG.verify(l, keys: keys, now: Self.now, requestMAC: mac).get() }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import DNSTSIG
import DNSWire
import DNSZone
import Testing
import TestSupport
@testable import DNSServer

/// The secondary's check of a primary's signed answers (RFC 8945 §5.3).
@Suite struct PrimaryClientTests {
    static let zone = try! DNSName("lab.test.")
    static let body = [a("ns1.lab.test.", 53), a("nas.lab.test.", 66), a("www.lab.test.", 80)]
    static func a(_ name: String, _ last: UInt8) -> ResourceRecord {
        ResourceRecord(name: try! DNSName(name), type: .a, ttl: 300, rdata: .a(IPv4Address(192, 0, 2, last)))
    }

    static func messages(_ rrs: [ResourceRecord], per: Int) -> [[UInt8]] {
        stride(from: 0, to: rrs.count, by: per).map { i in
            var m = Message()
            m.header = Header(id: 9)
            m.header.qr = true
            m.questions = [Question(name: zone, type: .axfr)]
            m.answers = Array(rrs[i..<min(rrs.count, i + per)])
            return m.wireBytes()
        }
    }

    @Test("every message of a signed answer is checked: the chain verifies; a changed byte, a missing last TSIG, an old TSIG (replay after the fudge) do not")
    func responseChain() throws {
        let key = TSIGKey(name: try DNSName("xfr."), algorithm: .hmacSHA256, secret: Array(repeating: 3, count: 32))
        let now = UInt64(time(nil))
        let (_, requestMAC) = TSIG.sign(Message.query(Self.zone, .axfr, id: 9).wireBytes(), key: key, time: now)!
        func signed(_ msgs: [[UInt8]], time: UInt64 = now, skip: Set<Int> = []) -> [[UInt8]] {
            var prior = requestMAC
            var pendingFirst = true
            return msgs.enumerated().map { i, m in
                if skip.contains(i) { return m }
                let (s, mac) = TSIG.sign(m, key: key, time: time, requestMAC: prior, timersOnly: !pendingFirst)!
                prior = mac
                pendingFirst = false
                return s
            }
        }
        func check(_ msgs: [[UInt8]], key k: TSIGKey? = key) -> String? {
            var c = ResponseChain(key: k, requestMAC: requestMAC)
            do {
                for (i, m) in msgs.enumerated() { try c.check(m, last: i == msgs.count - 1) }
                return nil
            } catch { return error.description }
        }
        let plain = Self.messages([TransferTests.soa(7)] + Self.body + [TransferTests.soa(7)], per: 1)
        #expect(check(signed(plain)) == nil)
        #expect(check(plain, key: nil) == nil)
        #expect(check(signed(plain), key: nil)?.contains("no key is configured") == true)
        #expect(check(plain)?.contains("not signed") == true)
        var changed = signed(plain)
        changed[2][20] ^= 1
        #expect(check(changed)?.contains("does not verify") == true)
        // Unsigned messages in between are allowed (covered by the next MAC), but not the last one.
        #expect(check(signed(plain, skip: [4]))?.contains("last message") == true)
        #expect(check(signed(plain, time: now - 3600))?.contains("badTime") == true)
    }
}

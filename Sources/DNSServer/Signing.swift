#if canImport(Glibc)
import Glibc
#endif
import DNSTSIG
import DNSWire
import JamLog

/// The TSIG keys the server verifies and signs with: the store's (`dnsctl tsig add`), by lowercased name.
/// Replaced whole when the store's keys change.
package struct KeyRing: Sendable {
    let keys: [DNSName: TSIGKey]

    package init(_ list: [TSIGKey]) {
        var d: [DNSName: TSIGKey] = [:]
        for k in list { d[k.name.lowercased] = k }
        keys = d
    }

    package static let empty = KeyRing([])

    /// The ring for these keys. With any key, OpenSSL's libcrypto is loaded now (it is opened on first use, not
    /// linked) and an error logged if it cannot be: otherwise every signed request would fail BADKEY unexplained.
    static func loading(_ list: [TSIGKey], logger: Logger) -> KeyRing {
        if !list.isEmpty, let why = TSIGAlgorithm.cryptoUnavailable { logger.error("TSIG keys cannot be used: \(why)") }
        return KeyRing(list)
    }

    package func key(_ name: DNSName) -> TSIGKey? { keys[name.lowercased] }
    var isEmpty: Bool { keys.isEmpty }
}

package typealias KeyBox = Current<KeyRing>

/// How the answers to one verified request are signed (RFC 8945 §4.3): the request's key and MAC; each later
/// message of a multi-message answer covers the MAC of the one before and the timers only (§4.4). Every
/// message is signed, which §5.3.1 allows (it requires at least every hundredth).
package struct Signer: Sendable {
    package let key: TSIGKey
    private var priorMAC: [UInt8]
    private var first = true

    init(key: TSIGKey, requestMAC: [UInt8]) {
        self.key = key
        priorMAC = requestMAC
    }

    /// Bytes an answer must leave free for its TSIG record.
    var overhead: Int { TSIG.overhead(key) }

    /// The next answer message, signed; nil when OpenSSL refuses the algorithm (MD5 in a FIPS build).
    mutating func sign(_ message: [UInt8], now: UInt64) -> [UInt8]? {
        guard let (signed, mac) = TSIG.sign(message, key: key, time: now, requestMAC: priorMAC, timersOnly: !first) else { return nil }
        priorMAC = mac
        first = false
        return signed
    }
}

/// The TSIG stage of the pipeline: whether a query carries a TSIG, and if so whether it verifies.
enum Signing {
    enum Verdict {
        /// No TSIG: the query goes on as it came.
        case unsigned
        /// Verified: the query without its TSIG goes on, and its answer is signed.
        case signed(query: [UInt8], signer: Signer)
        /// It did not verify: this answer says why (FORMERR, or NOTAUTH with BADKEY, BADSIG or BADTIME), and
        /// `reason` is for the log and metrics (never a secret: key names and algorithms only).
        case failed(answer: [UInt8], reason: Failure)
    }

    enum Failure: Equatable {
        case formErr(String), badKey(DNSName), badSig(DNSName), badTime(DNSName, skew: Int64)

        var counter: MetricBlock.Extra {
            switch self {
            case .formErr: .tsigFormErr
            case .badKey: .tsigBadKey
            case .badSig: .tsigBadSig
            case .badTime: .tsigBadTime
            }
        }
    }

    /// False when the query cannot hold a TSIG: no additional record, or only the OPT record right after a
    /// single question (what nearly every query is). Reads a few header bytes, nothing more.
    @inline(__always) static func mayBeSigned(_ q: UnsafeRawBufferPointer, _ question: RawQuestion) -> Bool {
        guard q.count >= 12, q[10] != 0 || q[11] != 0 else { return false }
        let one = q[4] == 0 && q[5] == 1 && q[6] == 0 && q[7] == 0 && q[8] == 0 && q[9] == 0 && q[10] == 0 && q[11] == 1
        let p = question.nameEnd + 4
        guard one, question.nameEnd > 0, p + 11 <= q.count, q[p] == 0, q[p + 1] == 0, q[p + 2] == 41 else { return true }
        let rdlen = Int(q[p + 9]) << 8 | Int(q[p + 10])
        return p + 11 + rdlen != q.count
    }

    /// Seconds since the epoch, as TSIG counts time.
    static func now() -> UInt64 { UInt64(max(0, time(nil))) }

    static func verify(_ q: UnsafeRawBufferPointer, keys: KeyRing, now: UInt64) -> Verdict {
        let bytes = Array(q)
        let split: TSIG.Split
        do {
            guard let s = try TSIG.split(bytes) else { return .unsigned }
            split = s
        } catch .unreadable {
            return .unsigned  // malformed before any TSIG: the engine answers it as such
        } catch {
            let why: String
            if case .formErr(let w) = error { why = w } else { why = "malformed TSIG" }
            return .failed(answer: errorAnswer(bytes, rcode: .formErr), reason: .formErr(why))
        }
        let t = split.tsig
        switch TSIG.verify(split, keys: keys.key, now: now) {
        case .success(let key):
            return .signed(query: split.unsigned, signer: Signer(key: key, requestMAC: t.mac))
        case .failure(.badTime):
            // Signed with the key (it is known and the MAC is right), carrying the request's time and ours
            // (§5.2.3), so the client can tell its clock is off.
            let key = keys.key(t.keyName)!
            let base = errorAnswer(split.unsigned, rcode: .notAuth)
            let signed = TSIG.sign(base, key: key, time: t.timeSigned, requestMAC: t.mac, error: .badTime, otherData: TSIG.timeData(now))
            return .failed(answer: signed?.message ?? base, reason: .badTime(t.keyName, skew: Int64(bitPattern: now &- t.timeSigned)))
        case .failure(let f):
            let base = errorAnswer(split.unsigned, rcode: .notAuth)
            switch f {
            case .badKey: return .failed(answer: TSIG.unsignedError(base, answering: t, error: .badKey, time: now), reason: .badKey(t.keyName))
            case .formErr(let why): return .failed(answer: errorAnswer(split.unsigned, rcode: .formErr), reason: .formErr(why))
            default: return .failed(answer: TSIG.unsignedError(base, answering: t, error: .badSig, time: now), reason: .badSig(t.keyName))
            }
        }
    }

    /// A header and the query's question (when it can be read) with `rcode`: the body of a TSIG error answer.
    static func errorAnswer(_ query: [UInt8], rcode: RCode) -> [UInt8] {
        let qh = Header(id: UInt16(query[0]) << 8 | UInt16(query[1]), flags: UInt16(query[2]) << 8 | UInt16(query[3]))
        var m = Message()
        m.header = Header(id: qh.id)
        m.header.qr = true
        m.header.opcode = qh.opcode
        m.header.rd = qh.rd
        m.rcode = rcode
        var r = WireReader(query, at: 12)
        if query[4] == 0 && query[5] == 1, let n = try? r.readName(), let t = try? r.readU16(), let c = try? r.readU16() {
            m.questions = [Question(name: n, type: RRType(t), qclass: RRClass(c))]
        }
        return m.wireBytes()
    }
}

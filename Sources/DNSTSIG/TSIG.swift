import CCrypto
import DNSWire

/// A TSIG algorithm (RFC 8945 §6): its name on the wire and the OpenSSL digest behind its HMAC.
public struct TSIGAlgorithm: Sendable, Hashable, CustomStringConvertible {
    public let name: DNSName
    /// The short form keys are written with (nsupdate, Knot, BIND, Kea): "hmac-sha256".
    public let mnemonic: String
    let digest: String
    /// Bytes of a full MAC.
    public let macLength: Int

    public static let hmacMD5 = TSIGAlgorithm("hmac-md5.sig-alg.reg.int.", "hmac-md5", "MD5", 16)
    public static let hmacSHA1 = TSIGAlgorithm("hmac-sha1.", "hmac-sha1", "SHA1", 20)
    public static let hmacSHA224 = TSIGAlgorithm("hmac-sha224.", "hmac-sha224", "SHA224", 28)
    public static let hmacSHA256 = TSIGAlgorithm("hmac-sha256.", "hmac-sha256", "SHA256", 32)
    public static let hmacSHA384 = TSIGAlgorithm("hmac-sha384.", "hmac-sha384", "SHA384", 48)
    public static let hmacSHA512 = TSIGAlgorithm("hmac-sha512.", "hmac-sha512", "SHA512", 64)
    public static let all = [hmacSHA256, hmacSHA384, hmacSHA512, hmacSHA224, hmacSHA1, hmacMD5]

    private init(_ name: String, _ mnemonic: String, _ digest: String, _ length: Int) {
        self.name = try! DNSName(name)
        self.mnemonic = mnemonic
        self.digest = digest
        macLength = length
    }

    /// By wire name (any case).
    public init?(name: DNSName) {
        guard let a = Self.all.first(where: { $0.name == name }) else { return nil }
        self = a
    }

    /// By mnemonic ("hmac-sha256", any case) or by wire name ("hmac-md5.sig-alg.reg.int").
    public init?(mnemonic text: String) {
        let t = text.lowercased()
        guard let a = Self.all.first(where: { $0.mnemonic == t || $0.name.description.lowercased() == (t.hasSuffix(".") ? t : t + ".") }) else { return nil }
        self = a
    }

    public var description: String { mnemonic }

    /// nil once OpenSSL's libcrypto is loaded (this loads it: it is opened on first use, not linked), else why
    /// it cannot be, with the fix. A server with keys asks at start so a missing library is said once, there.
    public static var cryptoUnavailable: String? {
        jam_crypto_load().map { String(cString: $0) }
    }

    /// HMAC of `data` under `key`, by OpenSSL (EVP_Q_mac): nil only if libcrypto cannot be loaded
    /// (`TSIGAlgorithm.cryptoUnavailable` says why) or refuses the digest, as a FIPS build refuses MD5.
    func mac(key: [UInt8], _ data: [UInt8]) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 64)
        var written = 0
        let ok = key.withUnsafeBytes { k in
            data.withUnsafeBytes { d in
                out.withUnsafeMutableBytes { o in
                    jam_crypto_hmac(digest, k.baseAddress, k.count, d.baseAddress, d.count, o.baseAddress?.assumingMemoryBound(to: UInt8.self), o.count, &written)
                }
            }
        }
        guard ok == 1, written == macLength else { return nil }
        return Array(out.prefix(written))
    }
}

/// A shared secret. Its description never shows the secret.
public struct TSIGKey: Sendable, Equatable, CustomStringConvertible {
    public let name: DNSName
    public let algorithm: TSIGAlgorithm
    /// Package-wide, for the store that keeps it; never printed (see `description`).
    package let secret: [UInt8]

    public init(name: DNSName, algorithm: TSIGAlgorithm, secret: [UInt8]) {
        self.name = name
        self.algorithm = algorithm
        self.secret = secret
    }

    public var description: String { "key \(name) (\(algorithm))" }
}

/// TSIG error codes (RFC 8945 §3, the extended RCODEs in the TSIG record's Error field).
public enum TSIGError: UInt16, Sendable {
    case none = 0, badSig = 16, badKey = 17, badTime = 18, badTrunc = 22
}

/// A TSIG resource record (RFC 8945 §4.2): owner is the key name, class ANY, TTL 0.
public struct TSIGRecord: Sendable, Equatable {
    public var keyName: DNSName
    public var algorithm: DNSName
    /// Seconds since the epoch, 48 bits.
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var mac: [UInt8]
    public var originalID: UInt16
    public var error: UInt16
    public var otherData: [UInt8]

    public init(keyName: DNSName, algorithm: DNSName, timeSigned: UInt64, fudge: UInt16, mac: [UInt8], originalID: UInt16,
                error: UInt16 = 0, otherData: [UInt8] = []) {
        self.keyName = keyName
        self.algorithm = algorithm
        self.timeSigned = timeSigned
        self.fudge = fudge
        self.mac = mac
        self.originalID = originalID
        self.error = error
        self.otherData = otherData
    }

    /// The whole record, names uncompressed (§4.2: the algorithm name is never compressed).
    func write(to w: inout WireWriter) {
        w.append(keyName.lowercased.wire)
        w.u16(RRType.tsig.rawValue)
        w.u16(RRClass.any.rawValue)
        w.u32(0)
        var rd = WireWriter(capacity: 64 + mac.count + otherData.count)
        rd.compressionEnabled = false
        rd.append(algorithm.lowercased.wire)
        TSIG.u48(timeSigned, &rd)
        rd.u16(fudge)
        rd.u16(UInt16(mac.count))
        rd.append(mac)
        rd.u16(originalID)
        rd.u16(error)
        rd.u16(UInt16(otherData.count))
        rd.append(otherData)
        w.u16(UInt16(rd.count))
        w.append(rd.bytes)
    }

    /// The RDATA at the reader's position, `length` bytes of it.
    static func read(owner: DNSName, from r: inout WireReader, length: Int) throws(WireError) -> TSIGRecord {
        let end = r.position + length
        let algorithm = try r.readName()
        let hi = UInt64(try r.readU16()), lo = UInt64(try r.readU32())
        let fudge = try r.readU16()
        let mac = try r.readBytes(Int(try r.readU16()))
        let id = try r.readU16(), error = try r.readU16()
        let other = try r.readBytes(Int(try r.readU16()))
        guard r.position == end else { throw WireError(.badRData, at: r.position, "TSIG RDATA length") }
        return TSIGRecord(keyName: owner, algorithm: algorithm, timeSigned: hi << 32 | lo, fudge: fudge, mac: mac,
                          originalID: id, error: error, otherData: other)
    }
}

/// Signing and verifying messages with TSIG (RFC 8945 §4, §5). Works on wire bytes: the MAC covers the message
/// exactly as sent, so it is computed on the bytes, never on a re-encoding.
public enum TSIG {
    /// The fudge a signer uses and a verifier allows (RFC 8945 §10: 300 s).
    public static let defaultFudge: UInt16 = 300

    /// A message cut at its TSIG record: the bytes before it, with ARCOUNT one less, and the record.
    public struct Split: Sendable {
        public let unsigned: [UInt8]
        public let tsig: TSIGRecord
    }

    /// Why a message's TSIG does not verify. `formErr`: the TSIG is malformed or misplaced (§5.1, §5.2.2.1).
    public enum Failure: Error, Equatable, Sendable {
        case formErr(String)
        /// The message does not parse up to where a TSIG would be: whether it is signed cannot be told, and
        /// it is malformed whatever it is (the caller's parser says how).
        case unreadable
        case badKey
        case badSig
        /// The MAC is right and the time is not: the answer carries the server's time (§5.2.3).
        case badTime
        case badTrunc
    }

    /// The message's TSIG, if it has one. A TSIG that is not the last record, or one of two, is a FORMERR
    /// (§5.1); so is a message that does not parse.
    public static func split(_ message: [UInt8]) throws(Failure) -> Split? {
        do {
            var r = WireReader(message)
            guard message.count >= 12 else { throw Failure.formErr("message shorter than its header") }
            r.position = 4
            let counts = [Int(try r.readU16()), Int(try r.readU16()), Int(try r.readU16()), Int(try r.readU16())]
            for _ in 0..<counts[0] {
                _ = try r.readName()
                _ = try r.readU32()
            }
            let records = counts[1] + counts[2] + counts[3]
            var found: (start: Int, record: TSIGRecord)?
            for i in 0..<records {
                let start = r.position
                let owner = try r.readName()
                let type = try r.readU16()
                _ = try r.readU16()
                _ = try r.readU32()
                let length = Int(try r.readU16())
                guard r.position + length <= message.count else { throw Failure.formErr("record past the end of the message") }
                if type == RRType.tsig.rawValue {
                    guard i == records - 1, i >= counts[1] + counts[2] else { throw Failure.formErr("TSIG is not the last record of the message") }
                    // Its fields must end exactly where its RDATA does (checked by `read`).
                    do { found = (start, try TSIGRecord.read(owner: owner, from: &r, length: length)) } catch {
                        throw Failure.formErr("TSIG record unreadable (\(error))")
                    }
                } else {
                    r.position += length
                }
            }
            guard r.position == message.count || found == nil else { throw Failure.formErr("bytes after the TSIG record") }
            guard let found else { return nil }
            var unsigned = Array(message[..<found.start])
            let ar = counts[3] - 1
            unsigned[10] = UInt8(ar >> 8)
            unsigned[11] = UInt8(ar & 0xFF)
            return Split(unsigned: unsigned, tsig: found.record)
        } catch let e as Failure {
            throw e
        } catch {
            throw Failure.unreadable
        }
    }

    /// `message` with a TSIG record appended and ARCOUNT raised. `requestMAC`: the MAC of the request this
    /// answers (§4.3.1), nil for a request. `timersOnly`: a later message of a multi-message answer, whose MAC
    /// covers the prior MAC, the message and only the time and fudge (§4.4); `requestMAC` is then the prior MAC.
    /// Returns nil when OpenSSL will not compute the MAC (a FIPS build and MD5).
    public static func sign(_ message: [UInt8], key: TSIGKey, time: UInt64, fudge: UInt16 = defaultFudge, requestMAC: [UInt8]? = nil,
                            error: TSIGError = .none, otherData: [UInt8] = [], timersOnly: Bool = false) -> (message: [UInt8], mac: [UInt8])? {
        guard message.count >= 12 else { return nil }
        let id = UInt16(message[0]) << 8 | UInt16(message[1])
        var tsig = TSIGRecord(keyName: key.name, algorithm: key.algorithm.name, timeSigned: time, fudge: fudge, mac: [],
                              originalID: id, error: error.rawValue, otherData: otherData)
        // A BADKEY or BADSIG answer carries no MAC (§5.3.2): the requester's key is not to be trusted with one.
        if error != .badKey && error != .badSig {
            guard let mac = key.algorithm.mac(key: key.secret, digestInput(message, tsig, requestMAC: requestMAC, timersOnly: timersOnly)) else { return nil }
            tsig.mac = mac
        }
        return (append(tsig, to: message), tsig.mac)
    }

    /// `message` answered with a TSIG error that carries no MAC (BADKEY, BADSIG: §5.3.2), naming the request's
    /// key and algorithm as they came, which may be ones this server does not know.
    public static func unsignedError(_ message: [UInt8], answering t: TSIGRecord, error: TSIGError, time: UInt64) -> [UInt8] {
        append(TSIGRecord(keyName: t.keyName, algorithm: t.algorithm, timeSigned: time, fudge: t.fudge, mac: [],
                          originalID: UInt16(message[0]) << 8 | UInt16(message[1]), error: error.rawValue, otherData: []), to: message)
    }

    /// `message` with `record` appended as it is and ARCOUNT raised (for error answers, and for tests that
    /// send a TSIG no signer would make).
    public static func append(_ record: TSIGRecord, to message: [UInt8]) -> [UInt8] {
        var w = WireWriter(capacity: message.count + 128)
        w.compressionEnabled = false
        w.append(message)
        record.write(to: &w)
        var out = w.bytes
        let ar = (Int(out[10]) << 8 | Int(out[11])) + 1
        out[10] = UInt8(ar >> 8 & 0xFF)
        out[11] = UInt8(ar & 0xFF)
        return out
    }

    /// The bytes a TSIG record signed with `key` adds to a message (`otherData` bytes of Other Data): what an
    /// answer leaves free for it.
    public static func overhead(_ key: TSIGKey, otherData: Int = 0) -> Int {
        key.name.wire.count + 10 + key.algorithm.name.wire.count + 16 + key.algorithm.macLength + otherData
    }

    /// Checks a signed message (§5.2 for a request, §5.3 with `requestMAC` for an answer): the key known, the
    /// MAC long enough and right, then the time within the fudge. Returns the split message and its key.
    /// `preceding`: in a multi-message answer, the unsigned messages since the last signed one, as they came
    /// (§5.3.1: the MAC covers them too).
    public static func verify(_ s: Split, keys: (DNSName) -> TSIGKey?, now: UInt64, requestMAC: [UInt8]? = nil,
                              timersOnly: Bool = false, preceding: [UInt8] = []) -> Result<TSIGKey, Failure> {
        guard let key = keys(s.tsig.keyName), key.algorithm.name == s.tsig.algorithm else { return .failure(.badKey) }
        let full = key.algorithm.macLength, got = s.tsig.mac.count
        // §5.2.2.1: longer than the algorithm gives, or shorter than 10 bytes or half of it: FORMERR.
        if got > full || got < max(10, (full + 1) / 2) {
            return .failure(.formErr("MAC of \(got) bytes for \(key.algorithm) (\(max(10, (full + 1) / 2))-\(full) allowed)"))
        }
        var unsigned = s.unsigned
        unsigned[0] = UInt8(s.tsig.originalID >> 8)
        unsigned[1] = UInt8(s.tsig.originalID & 0xFF)
        guard let mac = key.algorithm.mac(key: key.secret, digestInput(preceding + unsigned, s.tsig, requestMAC: requestMAC, timersOnly: timersOnly)) else {
            return .failure(.badKey)
        }
        let same = mac.withUnsafeBytes { a in s.tsig.mac.withUnsafeBytes { b in jam_crypto_memcmp(a.baseAddress, b.baseAddress, got) } }
        guard same == 0 else { return .failure(.badSig) }
        let skew = now > s.tsig.timeSigned ? now - s.tsig.timeSigned : s.tsig.timeSigned - now
        guard skew <= UInt64(s.tsig.fudge) else { return .failure(.badTime) }
        // A truncated MAC is accepted down to half the full length (the floor above); nothing is shorter.
        return .success(key)
    }

    /// What the MAC covers (§4.3): the request's or prior MAC with its length, the message as sent (with its
    /// original ID), then the TSIG variables in canonical form, or the timers alone (§4.4).
    static func digestInput(_ message: [UInt8], _ t: TSIGRecord, requestMAC: [UInt8]?, timersOnly: Bool) -> [UInt8] {
        var w = WireWriter(capacity: message.count + 128)
        w.compressionEnabled = false
        if let m = requestMAC {
            w.u16(UInt16(m.count))
            w.append(m)
        }
        w.append(message)
        if !timersOnly {
            w.append(t.keyName.lowercased.wire)
            w.u16(RRClass.any.rawValue)
            w.u32(0)
            w.append(t.algorithm.lowercased.wire)
        }
        u48(t.timeSigned, &w)
        w.u16(t.fudge)
        if !timersOnly {
            w.u16(t.error)
            w.u16(UInt16(t.otherData.count))
            w.append(t.otherData)
        }
        return w.bytes
    }

    static func u48(_ v: UInt64, _ w: inout WireWriter) {
        w.u16(UInt16(truncatingIfNeeded: v >> 32))
        w.u32(UInt32(truncatingIfNeeded: v))
    }

    /// The server's time as BADTIME's Other Data carries it (§5.2.3): 48 bits.
    public static func timeData(_ now: UInt64) -> [UInt8] {
        var w = WireWriter(capacity: 6)
        u48(now, &w)
        return w.bytes
    }
}

extension TSIGKey {
    /// A new key with a random secret as long as the algorithm's MAC (RFC 8945 §6: no shorter), from OpenSSL's
    /// generator.
    public static func generate(name: DNSName, algorithm: TSIGAlgorithm) -> TSIGKey? {
        var secret = [UInt8](repeating: 0, count: algorithm.macLength)
        guard jam_crypto_random(&secret, Int32(secret.count)) == 1 else { return nil }
        return TSIGKey(name: name, algorithm: algorithm, secret: secret)
    }

    /// The secret in base64, as nsupdate, knsupdate, Knot, BIND and Kea write it. For the one place that shows
    /// it (`dnsctl tsig add`), never for a log.
    public var base64Secret: String { Base64.encode(secret) }

    /// The secret's length, which may be said where the secret may not.
    public var secretLength: Int { secret.count }

    /// A secret as key files write it: base64, possibly wrapped (whitespace is dropped). Nil for an empty
    /// text or one that is not base64.
    public static func secret(base64 text: String) -> [UInt8]? {
        let t = Array(text.utf8.filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 })
        guard !t.isEmpty else { return nil }
        return Base64.decode(t)
    }
}

import DNSWire

/// What a cache key names: the question, lowercased, and the DO bit (answers with and without DNSSEC
/// records differ). CD is not cached apart because jamdns does not validate.
public struct CacheKey: Hashable, Sendable {
    public var name: [UInt8]  // lowercased wire form
    public var type: UInt16
    public var qclass: UInt16
    public var dnssecOK: Bool

    public init(name: DNSName, type: RRType, qclass: RRClass = .in, dnssecOK: Bool = false) {
        self.name = name.lowercased.wire
        self.type = type.rawValue
        self.qclass = qclass.rawValue
        self.dnssecOK = dnssecOK
    }
}

/// How an upstream answer is classified for caching (RFC 2308 §2; CoreDNS `response.Typify`).
public enum AnswerKind: Sendable, Equatable {
    case positive
    case nxDomain
    case noData
}

/// Why an answer was not cached.
public enum CacheRejection: Error, Sendable, Equatable {
    case malformed, truncated, rcode(RCode), noSOAInNegative, noTTL, wrongQuestion, zeroTTL
}

/// Reads an upstream response once: classifies it, finds every TTL field, and cuts the OPT record off.
enum AnswerScanner {
    static func scan(_ msg: [UInt8], minTTL: UInt32, maxTTL: UInt32, negativeMaxTTL: UInt32)
        throws(CacheRejection) -> (wire: [UInt8], offsets: [Int], ttls: [UInt32], kind: AnswerKind, lifetime: UInt32)
    {
        guard msg.count >= 12 else { throw .malformed }
        let flags = UInt16(msg[2]) << 8 | UInt16(msg[3])
        guard flags & 0x0200 == 0 else { throw .truncated }  // TC answers are never cached
        let rcode = RCode(rawValue: flags & 0xF)
        guard rcode == .noError || rcode == .nxDomain else { throw .rcode(rcode) }
        let qd = Int(msg[4]) << 8 | Int(msg[5]), an = Int(msg[6]) << 8 | Int(msg[7])
        let ns = Int(msg[8]) << 8 | Int(msg[9]), ar = Int(msg[10]) << 8 | Int(msg[11])
        guard qd == 1 else { throw .wrongQuestion }
        var r = WireReader(msg, at: 12)
        var offsets: [Int] = []
        var ttls: [UInt32] = []
        var answerTTL: UInt32 = .max
        var answerCount = 0
        var soaTTL: UInt32?
        var optStart: Int?
        var optEnd = 0
        do {
            _ = try r.readName()
            _ = try r.readU32()
            for i in 0..<(an + ns + ar) {
                let start = r.position
                _ = try r.readName()
                let type = RRType(try r.readU16())
                _ = try r.readU16()
                let ttlAt = r.position
                let ttl = try r.readU32()
                let len = Int(try r.readU16())
                guard r.remaining >= len else { throw WireError(.truncated, at: r.position, "rdata") }
                var soaMinimum: UInt32?
                if type == .soa && i >= an && i < an + ns {
                    // Negative TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308 §5).
                    var s = r
                    _ = try s.readName()
                    _ = try s.readName()
                    for _ in 0..<4 { _ = try s.readU32() }
                    soaMinimum = try s.readU32()
                }
                r.position += len
                if type == .opt {
                    guard i >= an + ns, optStart == nil else { throw WireError(.badOPT, at: start, "OPT") }
                    optStart = start
                    optEnd = r.position
                    continue
                }
                if type == .rrsig || type == .sig { /* TTL still counts down like the others */ }
                offsets.append(ttlAt)
                ttls.append(ttl)
                if i < an {
                    answerTTL = min(answerTTL, ttl)
                    answerCount += 1
                }
                if let m = soaMinimum { soaTTL = min(ttl, m) }
            }
            guard r.remaining == 0 else { throw WireError(.trailingBytes, at: r.position, "message") }
        } catch {
            throw .malformed
        }
        // Classify (RFC 2308 §2.1/§2.2): NXDOMAIN, NODATA (NOERROR, no answer of the type, SOA in authority),
        // or positive. A CNAME chain ending in NXDOMAIN is NXDOMAIN.
        let kind: AnswerKind
        var lifetime: UInt32
        if rcode == .nxDomain {
            kind = .nxDomain
        } else if answerCount == 0 {
            kind = .noData
        } else {
            kind = .positive
        }
        switch kind {
        case .positive:
            lifetime = answerTTL
            lifetime = max(minTTL, min(maxTTL, lifetime))
        case .nxDomain, .noData:
            guard let soa = soaTTL else { throw .noSOAInNegative }  // RFC 2308 §5: without SOA, do not cache
            lifetime = min(negativeMaxTTL, max(minTTL, soa))
        }
        var wire = msg
        if let s = optStart {
            // OPT is hop-by-hop: drop it; the server adds its own when it serves the entry.
            wire.removeSubrange(s..<optEnd)
            let newAR = ar - 1
            wire[10] = UInt8(newAR >> 8)
            wire[11] = UInt8(newAR & 0xFF)
            offsets = offsets.map { $0 > s ? $0 - (optEnd - s) : $0 }
        }
        // Clamped TTLs are what clients see: never above the entry's lifetime.
        ttls = ttls.map { min($0, kind == .positive ? max(minTTL, min(maxTTL, $0)) : lifetime) }
        return (wire, offsets, ttls, kind, lifetime)
    }
}

extension RRType {
    static let sig = RRType(24)
}

import DNSWire
import DNSZone

public enum Transport: Sendable { case udp, tcp }

/// What to do with a query: the answer is in the writer, say nothing, or ask the resolver.
public enum Disposition: Sendable {
    case reply
    case drop
    case recurse(RecursionQuery)
    /// A zone transfer of a served zone (over TCP, or IXFR over UDP): the pipeline decides whether it is
    /// allowed and how it is answered.
    case transfer(TransferQuery)
    /// A NOTIFY (RFC 1996): the pipeline asks the secondaries whether it comes from a primary of the zone.
    case notify(NotifyQuery)
    /// A well-formed UPDATE (RFC 2136) of a served zone: the pipeline decides who may, and the updater applies it.
    case update(UpdateQuery)
}

/// An UPDATE as the engine read it: its zone served here, its sections in the forms RFC 2136 §3 allows.
public struct UpdateQuery: Sendable {
    public let id: UInt16
    public let flags: UInt16
    public let request: Update.Request
    /// The zone section as it came, echoed in the answer.
    public let question: Question
    /// The UPDATE had an OPT record: the answer carries one (RFC 6891 §7).
    public let ednsPayload: UInt16?

    /// The answer to it: the header and zone section (RFC 2136 §3.8), with `rcode`.
    public func answer(_ rcode: RCode, maxSize: Int = 512) -> [UInt8] {
        var m = Message()
        m.header = Header(id: id)
        m.header.qr = true
        m.header.opcode = .update
        m.questions = [question]
        m.rcode = rcode
        if let ednsPayload { m.edns = EDNS(udpPayloadSize: ednsPayload) }
        var w = WireWriter(capacity: 128)
        m.write(into: &w, maxSize: maxSize)
        return w.bytes
    }
}

/// A NOTIFY's question and header, as the engine read them.
public struct NotifyQuery: Sendable {
    public let id: UInt16
    public let flags: UInt16
    public let question: Question
}

/// An AXFR or IXFR question for the apex of a served zone, as the engine read it.
public struct TransferQuery: Sendable {
    public let id: UInt16
    /// The query's header flags (RD is copied into the answer).
    public let flags: UInt16
    public let question: Question
    /// The snapshot the transfer is made from, whatever the served zone becomes meanwhile.
    public let zone: Zone
    /// IXFR: the serial the client holds (its SOA in the authority section, RFC 1995 §3); nil for AXFR.
    public let clientSerial: UInt32?
    /// The query had an OPT record: every answer message carries one (RFC 6891 §7).
    public let edns: Bool
    public let transport: Transport
}

/// Turns one query into one response, synchronously, from an immutable catalog: no I/O, no SQLite, no locks.
/// The checks run in NSD's fixed order: short or QR → drop; unparsable → FORMERR; opcode → NOTIMP; section
/// counts → FORMERR; EDNS version → BADVERS; class and type → REFUSED/FORMERR/NOTIMP; then the lookup.
public struct QueryEngine: Sendable {
    public var ednsUDPPayload: Int
    /// With a resolver configured, names outside the served zones are handed to it instead of REFUSED.
    public var recursion: Bool

    public init(ednsUDPPayload: Int = 1232, recursion: Bool = false) {
        self.ednsUDPPayload = ednsUDPPayload
        self.recursion = recursion
    }

    /// Compatibility for callers that only serve authoritative data: true = answer written, false = drop.
    public func respond(to query: [UInt8], transport: Transport, routes: RouteTable, into out: inout WireWriter) -> Bool {
        switch decide(query, transport: transport, routes: routes, into: &out) {
        case .reply: return true
        case .drop: return false
        case .recurse(let q):
            out.reset()
            out.append(Resolver.localAnswer(q, rcode: .refused, ede: .notAuthoritative, text: "not authoritative for this name", ednsPayload: ednsUDPPayload))
            return true
        case .notify(let n):
            var m = Message()
            m.header = Header(id: n.id)
            m.header.qr = true
            m.header.opcode = .notify
            m.questions = [n.question]
            m.rcode = .notAuth
            out.reset()
            m.write(into: &out)
            return true
        case .update(let u):
            out.reset()
            out.append(u.answer(.refused))
            return true
        case .transfer(let t):
            var m = Message()
            m.header = Header(id: t.id)
            m.header.qr = true
            m.questions = [t.question]
            m.rcode = .refused
            out.reset()
            m.write(into: &out)
            return true
        }
    }

    /// Decides a query: writes the authoritative (or error) answer into `out` (`.reply`), drops it, or hands
    /// a name outside the served zones to the resolver (`.recurse`). `reserve`: bytes the answer leaves free
    /// (for the TSIG a signed answer gets).
    /// `down`: secondary zones with no current copy, answered SERVFAIL.
    public func decide(_ query: [UInt8], transport: Transport, routes: RouteTable, into out: inout WireWriter,
                       allowed: Bool = true, reserve: Int = 0, down: Set<DNSName> = []) -> Disposition {
        guard query.count >= 12 else { return .drop }
        let flags = UInt16(query[2]) << 8 | UInt16(query[3])
        guard flags & 0x8000 == 0 else { return .drop }  // a response: never answer (reflection loops)
        let id = UInt16(query[0]) << 8 | UInt16(query[1])

        let msg: Message
        do { msg = try Message.parse(query) } catch {
            // A question we cannot even read is dropped, as Knot does (no reflection of garbage); a readable
            // question with a malformed rest gets FORMERR.
            guard Self.questionReadable(query) else { return .drop }
            writeHeaderOnly(id: id, queryFlags: flags, rcode: .formErr, into: &out)
            return .reply
        }
        var resp = Message()
        resp.header = Header(id: id)
        resp.header.qr = true
        resp.header.opcode = msg.header.opcode
        resp.header.rd = msg.header.rd
        resp.header.cd = msg.header.cd
        resp.questions = msg.questions
        if let qe = msg.edns {
            var e = EDNS(udpPayloadSize: UInt16(ednsUDPPayload))
            e.dnssecOK = qe.dnssecOK  // RFC 3225 §3: DO is copied into the response
            resp.edns = e
        }
        let maxSize: Int
        switch transport {
        case .tcp: maxSize = 65535 - reserve
        case .udp: maxSize = (msg.edns.map { min(max(512, Int($0.udpPayloadSize)), ednsUDPPayload) } ?? 512) - reserve
        }

        func finish(_ rcode: RCode, ede: ExtendedErrorCode? = nil, _ text: String = "") -> Disposition {
            resp.rcode = rcode
            if let ede, resp.edns != nil { resp.edns?.options.append(.extendedError(ede, text)) }
            resp.write(into: &out, maxSize: maxSize)
            return .reply
        }

        guard allowed else { return finish(.refused, ede: .prohibited, "queries from this client are not allowed") }
        if msg.header.opcode == .notify {
            guard msg.questions.count == 1, msg.questions[0].type == .soa else { return finish(.formErr) }
            return .notify(NotifyQuery(id: id, flags: msg.header.flags, question: msg.questions[0]))
        }
        if msg.header.opcode == .update {
            // RFC 2136 §3.1-3.4.1: the forms are checked here, without data; NOTAUTH for a zone not served.
            let req: Update.Request
            do { req = try Update.parse(msg) { routes.catalog.zones[$0] != nil } } catch {
                if msg.questions.count != 1 { resp.questions = [] }
                return finish(error.rcode)
            }
            return .update(UpdateQuery(id: id, flags: msg.header.flags, request: req, question: msg.questions[0],
                                       ednsPayload: msg.edns == nil ? nil : UInt16(ednsUDPPayload)))
        }
        guard msg.header.opcode == .query else {
            return finish(.notImp, ede: .notSupported, "opcode \(msg.header.opcode) is not supported")
        }
        // IXFR alone carries a record in authority: the client's SOA (RFC 1995 §3).
        let ixfrSOA = msg.questions.count == 1 && msg.questions[0].type == .ixfr && msg.authority.count == 1 && msg.authority[0].type == .soa
        guard msg.questions.count == 1, msg.answers.isEmpty, msg.authority.isEmpty || ixfrSOA else {
            if msg.questions.count != 1 { resp.questions = [] }
            return finish(.formErr)
        }
        guard msg.additional.isEmpty else {
            // Anything but OPT in additional is malformed for a query: a good TSIG was cut off by the pipeline's
            // TSIG stage, so one that reaches here is misplaced (RFC 8945 §5.1: FORMERR).
            return finish(.formErr)
        }
        if let e = msg.edns, e.version > 0 {
            resp.edns?.version = 0
            return finish(.badVers)  // RFC 6891 §6.1.3
        }
        let q = msg.questions[0]
        if q.type == .opt || q.type == .tsig || q.type.rawValue == 249 { return finish(.formErr) }
        guard q.qclass == .in || q.qclass == .any else {
            return finish(.refused, ede: .notAuthoritative, "class \(q.qclass) is not served")
        }
        if q.type == .axfr || q.type == .ixfr {
            // AXFR only over TCP (RFC 5936 §4.2); IXFR over UDP is answered (RFC 1995 §2).
            if transport == .udp && q.type == .axfr { return finish(.notImp) }
            if q.type == .ixfr && !ixfrSOA { return finish(.formErr) }
            guard q.qclass == .in, let zone = routes.catalog.zones[q.name] else {
                return finish(.notAuth, ede: .notAuthoritative, "not a zone served here")
            }
            var serial: UInt32?
            if q.type == .ixfr {
                guard msg.authority[0].name == zone.origin, case .soa(let soa) = msg.authority[0].rdata else { return finish(.formErr) }
                serial = soa.serial
            }
            return .transfer(TransferQuery(id: id, flags: msg.header.flags, question: q, zone: zone, clientSerial: serial,
                                           edns: msg.edns != nil, transport: transport))
        }
        if q.type.rawValue == 0 || (q.type.rawValue >= 128 && q.type.rawValue <= 254 && q.type != .any) {
            return finish(.notImp)
        }
        if !down.isEmpty, let d = Self.longestAncestor(of: q.name, in: down),
           (routes.catalog.zone(for: q.name)?.origin.labelCount ?? 0) <= d.labelCount {
            return finish(.servFail, ede: .notReady, "\(d) is a secondary zone without a current copy (not transferred yet, or expired)")
        }
        let ans: AuthAnswer
        switch routes.decide(q.name, q.type, resolverAvailable: recursion && q.qclass == .in) {
        case .answer(let a):
            ans = a
        case .resolve(_, let nameExists, let forward):
            return .recurse(RecursionQuery(id: id, flags: msg.header.flags, question: q, edns: msg.edns, maxSize: maxSize,
                                           forward: forward, nameExists: nameExists))
        case .outside(let forward):
            if recursion && q.qclass == .in {
                return .recurse(RecursionQuery(id: id, flags: msg.header.flags, question: q, edns: msg.edns, maxSize: maxSize, forward: forward))
            }
            return finish(.refused, ede: .notAuthoritative, "not authoritative for this name")
        }
        resp.header.aa = ans.authoritative
        resp.answers = ans.answer
        resp.authority = ans.authority
        resp.additional = ans.additional
        resp.rcode = ans.rcode
        resp.write(into: &out, maxSize: maxSize)
        return .reply
    }

    static func longestAncestor(of name: DNSName, in set: Set<DNSName>) -> DNSName? {
        var n: DNSName? = name
        while let c = n {
            if set.contains(c) { return c }
            n = c.parent
        }
        return nil
    }

    /// True when the header's first question (if any) can be read.
    static func questionReadable(_ q: [UInt8]) -> Bool {
        var r = WireReader(q, at: 12)
        guard q[4] != 0 || q[5] != 0 else { return true }
        guard (try? r.readName()) != nil, r.remaining >= 4 else { return false }
        return true
    }

    func writeHeaderOnly(id: UInt16, queryFlags: UInt16, rcode: RCode, into out: inout WireWriter) {
        let query = Header(id: id, flags: queryFlags)
        var h = Header(id: id)
        h.opcode = query.opcode
        h.rd = query.rd
        h.cd = query.cd
        h.qr = true
        h.rcodeLow = UInt8(rcode.rawValue & 0xF)
        out.reset()
        out.header(h)
    }
}

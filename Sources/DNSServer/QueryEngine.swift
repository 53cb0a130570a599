import DNSWire
import DNSZone

public enum Transport: Sendable { case udp, tcp }

/// What to do with a query: the answer is in the writer, say nothing, or ask the resolver.
public enum Disposition: Sendable {
    case reply
    case drop
    case recurse(RecursionQuery)
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
        }
    }

    /// Decides a query: writes the authoritative (or error) answer into `out` (`.reply`), drops it, or hands
    /// a name outside the served zones to the resolver (`.recurse`).
    public func decide(_ query: [UInt8], transport: Transport, routes: RouteTable, into out: inout WireWriter,
                       allowed: Bool = true) -> Disposition {
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
        case .tcp: maxSize = 65535
        case .udp: maxSize = msg.edns.map { min(max(512, Int($0.udpPayloadSize)), ednsUDPPayload) } ?? 512
        }

        func finish(_ rcode: RCode, ede: ExtendedErrorCode? = nil, _ text: String = "") -> Disposition {
            resp.rcode = rcode
            if let ede, resp.edns != nil { resp.edns?.options.append(.extendedError(ede, text)) }
            resp.write(into: &out, maxSize: maxSize)
            return .reply
        }

        guard allowed else { return finish(.refused, ede: .prohibited, "queries from this client are not allowed") }
        guard msg.header.opcode == .query else {
            return finish(.notImp, ede: .notSupported, "opcode \(msg.header.opcode) is not supported")
        }
        guard msg.questions.count == 1, msg.answers.isEmpty, msg.authority.isEmpty else {
            if msg.questions.count != 1 { resp.questions = [] }
            return finish(.formErr)
        }
        guard msg.additional.isEmpty else {
            // TSIG and friends are not supported; anything else in additional is malformed for a query.
            return finish(msg.additional.contains { $0.type == .tsig } ? .notAuth : .formErr)
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
            // Transfers only exist over TCP (RFC 5936 §4.2); over TCP we do not offer them.
            if transport == .udp { return finish(.notImp) }
            return finish(.refused, ede: .prohibited, "zone transfers are not offered")
        }
        if q.type.rawValue == 0 || (q.type.rawValue >= 128 && q.type.rawValue <= 254 && q.type != .any) {
            return finish(.notImp)
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
        out.u16(h.id)
        out.u16(h.flags)
        out.u16(0)
        out.u16(0)
        out.u16(0)
        out.u16(0)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import DNSTSIG
import DNSWire
import DNSZone
import SystemIO

/// How an answer that is not ready at once (a question sent upstream) gets back to its client: UDP sends to
/// a copy of the client's address on the worker's socket, TCP posts it to the connection's completion queue.
package protocol Responder: Sendable {
    func respond(_ bytes: [UInt8])
}

/// One query as a listener received it. `bytes` is valid only while `Pipeline.handle` runs.
package struct Request {
    package var bytes: UnsafeRawBufferPointer
    package var client: IPBits
    package var transport: Transport
    /// Monotonic µs at arrival: latency is measured from here.
    package var receivedUs: Int
    /// The question as the pipeline's own stages need it, found once here.
    package let question: RawQuestion

    package init(bytes: UnsafeRawBufferPointer, client: IPBits, transport: Transport, receivedUs: Int) {
        self.bytes = bytes
        self.client = client
        self.transport = transport
        self.receivedUs = receivedUs
        question = RawQuestion(bytes)
    }
}

/// What metrics and the query log need of the question (its type and name), read in one scan of the raw
/// bytes without parsing the message: a memo hit is counted and logged from this alone, and only a query the
/// engine must answer is parsed whole. Questions are never compressed.
package struct RawQuestion: Equatable {
    /// Just past the question name's root label; 0 when the name is compressed or runs past the end.
    package let nameEnd: Int
    /// The question type; 0 when unreadable.
    package let type: UInt16

    package init(_ q: UnsafeRawBufferPointer) {
        var i = 12
        var end = 0
        while i < q.count {
            let l = Int(q[i])
            if l == 0 { end = i + 1; break }
            if l >= 0xC0 { break }
            i += l + 1
        }
        nameEnd = end
        type = end > 0 && end + 2 <= q.count ? UInt16(q[end]) << 8 | UInt16(q[end + 1]) : 0
    }

    /// The name's wire bytes (empty when unreadable), copied for the query log.
    package func name(in q: UnsafeRawBufferPointer) -> [UInt8] { nameEnd > 0 ? Array(q[12..<nameEnd]) : [] }
}

/// What became of a request.
package enum Outcome: Equatable {
    /// The answer is in the caller's buffer: `size` bytes, and where it came from.
    case reply(size: Int, source: AnswerSource)
    /// Say nothing (unreadable, a response, or withheld by the rate limiter).
    case drop
    /// Sent upstream: the responder gets the answer later, from the forwarder's thread.
    case later
    /// An allowed zone transfer (TCP only): the listener streams it (`TransferStream`).
    case transfer(TransferPlan)

    /// Transfers compare by kind only: tests ask "was it streamed", not which plan.
    package static func == (a: Outcome, b: Outcome) -> Bool {
        switch (a, b) {
        case (.reply(let s1, let o1), .reply(let s2, let o2)): s1 == s2 && o1 == o2
        case (.drop, .drop), (.later, .later), (.transfer, .transfer): true
        default: false
        }
    }
}

/// A listener's own scratch space: the message writer and, for UDP, the answer memo.
package struct PipelineScratch {
    var writer = WireWriter(capacity: 4096)
    var memo: AnswerCache?

    package init(memoSlots: Int = 0) {
        memo = memoSlots > 0 ? AnswerCache(capacity: memoSlots) : nil
    }
}

/// The one query path every transport takes, in this order: the ACL (before the memo, so a memoised answer
/// never reaches a client that may not ask), TSIG (a signed query is verified, and its answer signed; it
/// never touches the memo), the answer memo, the header gate and local data (zones and policy answers,
/// `QueryEngine`), zone transfers (allowed or refused here, streamed by the TCP listener), the resolver, the
/// rate limiter, and observation (metrics and the query log) exactly once. Listeners do I/O only; a new transport is a new listener that calls `handle`.
/// Built per batch from the snapshots in force, so a batch never sees two configs or two catalogs.
package struct Pipeline {
    let routes: RouteTable
    let policy: Policy
    let keys: KeyRing
    let metrics: MetricBlock
    /// Secondary zones without a current copy (SERVFAIL), read once per batch.
    let down: Set<DNSName>

    init(catalog: Catalog, policy: Policy, keys: KeyRing, metrics: MetricBlock) {
        routes = policy.routes(for: catalog)
        self.policy = policy
        self.keys = keys
        self.metrics = metrics
        down = policy.secondaries?.down.snapshot() ?? []
    }

    /// Handles one request. The answer, when there is one now, is written to `out` (at most `capacity`
    /// bytes). `responder` is asked for only when the question goes upstream, so cache hits and local answers
    /// build none.
    package func handle(_ r: Request, scratch: inout PipelineScratch, into out: UnsafeMutableRawPointer, capacity: Int,
                        responder: () -> Responder) -> Outcome {
        let allowed = policy.allowQuery?.contains(r.client) ?? true
        var signer: Signer?
        var signedQuery: [UInt8]?
        /// A TSIG that failed: its answer, which still goes through the rate limiter and observation.
        var tsigAnswer: [UInt8]?
        if Signing.mayBeSigned(r.bytes, r.question) {
            switch Signing.verify(r.bytes, keys: keys, now: Signing.now()) {
            case .unsigned: break
            case .signed(let q, let s):
                signedQuery = q
                signer = s
            case .failed(let answer, let why):
                metrics.count(why.counter)
                policy.noteTSIGFailure(why, client: r.client)
                tsigAnswer = answer
            }
        }
        let memoKey = policy.memoGeneration(routes.catalog.generation) &+ (policy.secondaries?.downGeneration.load(ordering: .acquiring) ?? 0) << 56
        var size: Int
        var source: AnswerSource
        if let answer = tsigAnswer {
            size = Self.copy(answer, count: answer.count, to: out, capacity: capacity)
            source = .refused
        } else if signer == nil, allowed, scratch.memo != nil, let hit = scratch.memo!.lookup(r.bytes, generation: memoKey, into: out) {
            size = hit
            // The memo holds the engine's answers of every kind: REFUSED and NOTIMP are counted as what they are.
            source = .ofEngineAnswer(rcode: size > 3 ? out.load(fromByteOffset: 3, as: UInt8.self) & 0x0F : 0)
        } else {
            let query = signedQuery ?? Array(r.bytes)
            switch policy.engine.decide(query, transport: r.transport, routes: routes, into: &scratch.writer, allowed: allowed,
                                        reserve: signer?.overhead ?? 0, down: down) {
            case .drop:
                metrics.count(.dropped)
                return .drop
            case .reply:
                if signer == nil {
                    size = Self.copy(scratch.writer.bytes, count: scratch.writer.count, to: out, capacity: capacity)
                    if allowed { scratch.memo?.insert(query: r.bytes, response: scratch.writer.bytes, generation: memoKey) }
                } else {
                    guard let signed = signer!.sign(scratch.writer.bytes, now: Signing.now()) else { return .drop }
                    size = Self.copy(signed, count: signed.count, to: out, capacity: capacity)
                }
                source = .ofEngineAnswer(rcode: size > 3 ? out.load(fromByteOffset: 3, as: UInt8.self) & 0x0F : 0)
            case .update(let u):
                guard let answer = update(u, request: r, signer: signer, responder: responder) else { return .later }
                size = Self.copy(answer, count: answer.count, to: out, capacity: capacity)
                source = .refused
            case .notify(let n):
                let answer = notify(n, request: r, signer: signer, writer: &scratch.writer)
                size = Self.copy(answer, count: answer.count, to: out, capacity: capacity)
                source = answer[3] & 0x0F == 0 ? .authoritative : .refused
            case .transfer(let t):
                switch transfer(t, request: r, signer: signer, writer: &scratch.writer) {
                case .answer(let bytes, let src):
                    size = Self.copy(bytes, count: bytes.count, to: out, capacity: capacity)
                    source = src
                case .stream(let plan):
                    Self.observe(policy, metrics, r, answerRCode: 0, source: .authoritative)
                    return .transfer(plan)
                }
            case .recurse(let q):
                guard let resolver = policy.resolver else { return .drop }
                switch resolver.answerNow(q, client: r.client) {
                case .answer(let now, let src):
                    var answer = now
                    if signer != nil {
                        guard let signed = signer!.sign(now, now: Signing.now()) else { return .drop }
                        answer = signed
                    }
                    size = Self.copy(answer, count: answer.count, to: out, capacity: capacity)
                    source = src
                case .fetch(let zone, let key):
                    let late = LateAnswer(policy: policy, metrics: metrics, request: r, signer: signer, responder: responder())
                    resolver.fetch(q, zone: zone, key: key) { bytes, src in late.deliver(bytes, source: src) }
                    return .later
                }
            }
        }
        guard let limited = Self.rateLimit(policy, metrics, client: r.client, transport: r.transport, receivedUs: r.receivedUs, out, size: size)
        else { return .drop }
        Self.observe(policy, metrics, r, answerRCode: limited > 3 ? out.load(fromByteOffset: 3, as: UInt8.self) & 0x0F : 0,
                     source: source)
        return .reply(size: limited, source: source)
    }

    /// A NOTIFY: NOERROR when it comes from a primary of one of our secondary zones (with the zone's key, if
    /// it has one), and the secondary checks the zone soon; NOTAUTH for a zone we are not a secondary for;
    /// REFUSED from anyone else (RFC 1996 §3.10), logged.
    func notify(_ n: NotifyQuery, request r: Request, signer: Signer?, writer: inout WireWriter) -> [UInt8] {
        let verdict = policy.secondaries?.notify(zone: n.question.name, from: r.client, key: signer?.key.name) ?? .notSecondary
        var m = Message()
        m.header = Header(id: n.id)
        m.header.qr = true
        m.header.opcode = .notify
        m.header.aa = verdict == .accepted
        m.questions = [n.question]
        switch verdict {
        case .accepted: m.rcode = .noError
        case .notSecondary: m.rcode = .notAuth
        case .notPrimary, .wrongKey:
            m.rcode = .refused
            policy.noteRefusedNotify(n.question.name, client: r.client, key: signer?.key.name, why: verdict == .wrongKey ? "not signed with the zone's tsig key" : "not from one of the zone's primaries")
        }
        writer.reset()
        m.write(into: &writer, maxSize: 512 - (signer?.overhead ?? 0))
        guard var s = signer else { return writer.bytes }
        return s.sign(writer.bytes, now: Signing.now()) ?? writer.bytes
    }

    /// An UPDATE (RFC 2136): a secondary zone's goes to its primaries when `forward_updates` says so and is
    /// REFUSED otherwise; a primary zone's is checked against the sender's rules and rate (`UpdateACL`) and
    /// queued for the updater. The answer when it is refused now (signed if the request was); nil when it
    /// comes later, through the responder.
    func update(_ u: UpdateQuery, request r: Request, signer: Signer?, responder: () -> Responder) -> [UInt8]? {
        let zone = u.request.zone
        let key = signer?.key.name
        func answer(_ rcode: RCode, _ why: String?, _ counter: MetricBlock.Extra = .updatesRefused) -> [UInt8] {
            metrics.count(counter)
            if let why { policy.noteUpdate(zone, client: r.client, key: key, rcode: rcode, why: why) }
            let bytes = u.answer(rcode)
            guard var s = signer else { return bytes }
            return s.sign(bytes, now: Signing.now()) ?? bytes
        }
        if let secondary = policy.secondaries?.zone(zone) {
            let cfg = policy.zoneConfigs[zone.lowercased] ?? secondary.catalog.flatMap { policy.zoneConfigs[$0.lowercased] }
            guard cfg?.forwardUpdates == true, let updater = policy.updater else {
                return answer(.refused, "\(zone) is a secondary here; send UPDATEs to its primary (or set forward_updates = true in its [zone] table)")
            }
            // The request as it came, TSIG included: the primary checks the client's signature and signs its answer.
            let late = LateAnswer(policy: policy, metrics: metrics, request: r, signer: nil, responder: responder())
            updater.forward(Array(r.bytes), zone: zone, primaries: secondary.primaries, reply: late, failure: u.answer(.servFail))
            return nil
        }
        guard let updater = policy.updater else { return answer(.refused, "this server takes no UPDATEs") }
        switch policy.updates.authorize(u.request, key: key, client: r.client, nowMs: Int64(r.receivedUs / 1000)) {
        case .refused(let why):
            return answer(.refused, why)
        case .limited:
            return answer(.refused, "over update.rate (\(policy.updates.limits.ratePerSecond) a second)", .updatesRateLimited)
        case .allowed(let source):
            let edit = UpdateEdit(request: u.request, source: source, maxZoneRecords: policy.updates.limits.maxZoneRecords,
                                  permits: policy.updates.permits(zone: zone, key: key, client: r.client))
            let late = LateAnswer(policy: policy, metrics: metrics, request: r, signer: signer, responder: responder())
            guard updater.enqueue(Updater.Job(edit: edit, query: u, client: r.client, key: key, reply: late)) else {
                return answer(.servFail, "the update queue is full (\(Updater.maxQueued) waiting)", .updatesFailed)
            }
            return nil
        }
    }

    enum TransferDecision {
        case answer([UInt8], AnswerSource)
        case stream(TransferPlan)
    }

    /// A transfer question: refused unless `allow_transfer` lets this client (and key) have the zone; the
    /// single-SOA answer when the client is up to date (RFC 1995 §2), and always over UDP (the answer there
    /// is the SOA, which tells the client to come back over TCP); otherwise a stream for the TCP listener.
    func transfer(_ t: TransferQuery, request r: Request, signer: Signer?, writer: inout WireWriter) -> TransferDecision {
        var signer = signer
        func finish(_ m: Message) -> [UInt8] {
            var mm = m
            mm.header.id = t.id
            mm.header.qr = true
            mm.header.rd = Header(id: t.id, flags: t.flags).rd
            mm.questions = [t.question]
            if t.edns { mm.edns = EDNS(udpPayloadSize: UInt16(policy.engine.ednsUDPPayload)) }
            writer.reset()
            mm.write(into: &writer, maxSize: (t.transport == .udp ? 512 : 65535) - (signer?.overhead ?? 0))
            guard signer != nil else { return writer.bytes }
            return signer!.sign(writer.bytes, now: Signing.now()) ?? writer.bytes
        }
        let zone = t.zone
        guard policy.transfers.allows(zone.origin, client: r.client, key: signer?.key.name) else {
            metrics.count(.transfersRefused)
            policy.noteRefusedTransfer(t, client: r.client, key: signer?.key.name)
            var m = Message()
            m.rcode = .refused
            return .answer(finish(m), .refused)
        }
        if let theirs = t.clientSerial, t.transport == .udp || !serialNewer(zone.soa.serial, than: theirs) {
            var m = Message()
            m.header.aa = true
            m.answers = [ResourceRecord(name: zone.origin, type: .soa, ttl: zone.soaTTL, rdata: .soa(zone.soa))]
            metrics.count(.ixfrUpToDate)
            return .answer(finish(m), .authoritative)
        }
        metrics.count(t.clientSerial == nil ? .axfrServed : .ixfrServed)
        return .stream(TransferPlan(query: t, signer: signer))
    }

    @inline(__always) static func copy(_ bytes: [UInt8], count: Int, to out: UnsafeMutableRawPointer, capacity: Int) -> Int {
        let n = min(count, capacity)
        bytes.withUnsafeBytes { out.copyMemory(from: $0.baseAddress!, byteCount: n) }
        return n
    }

    /// Response-rate limiting of UDP answers to clients outside the exempt ranges, after the answer exists
    /// (dropped garbage costs no budget). The answer's new size, or nil to say nothing.
    @inline(__always) static func rateLimit(_ policy: Policy, _ metrics: MetricBlock, client: IPBits, transport: Transport, receivedUs: Int,
                                            _ answer: UnsafeMutableRawPointer, size: Int) -> Int? {
        guard transport == .udp, let limiter = policy.limiter, limiter.applies(to: client) else { return size }
        switch limiter.check(client, nowMs: Int64(receivedUs / 1000)) {
        case .pass: return size
        case .drop:
            metrics.count(.rrlDropped)
            return nil
        case .slip:
            metrics.count(.rrlSlipped)
            return RateLimiter.truncate(answer, size: size)
        }
    }

    /// Metrics and the query log: the one place an answered query is counted.
    static func observe(_ policy: Policy, _ metrics: MetricBlock, _ r: Request, answerRCode: UInt8, source: AnswerSource) {
        observe(policy.queryLog, metrics, client: r.client, qtype: r.question.type, name: policy.queryLog == nil ? [] : r.question.name(in: r.bytes),
                rcode: answerRCode, source: source, transport: r.transport, receivedUs: r.receivedUs)
    }

    static func observe(_ log: QueryLog?, _ metrics: MetricBlock, client: IPBits, qtype: UInt16, name: [UInt8], rcode: UInt8,
                        source: AnswerSource, transport: Transport, receivedUs: Int) {
        let latency = monotonicUs() - receivedUs
        metrics.record(qtype: qtype, rcode: rcode, tcp: transport == .tcp, source: source, latencyUs: latency)
        if let log, !log.append(.init(timeMs: wallMs(), client: client.bytes, name: name, qtype: qtype, rcode: rcode, source: source,
                                      tcp: transport == .tcp, latencyUs: latency)) {
            metrics.count(.queryLogDropped)
        }
    }
}

/// A forwarded question's way back: what the pipeline still has to do once the answer arrives (rate limit
/// and observe, as for every other answer), then the listener's responder. Holds copies of what it needs,
/// since the request's buffer is long reused by then.
final class LateAnswer: Sendable {
    let policy: Policy
    let metrics: MetricBlock
    let client: IPBits
    let transport: Transport
    let receivedUs: Int
    let qtype: UInt16
    let name: [UInt8]
    let signer: Signer?
    let responder: Responder

    init(policy: Policy, metrics: MetricBlock, request r: Request, signer: Signer?, responder: Responder) {
        self.policy = policy
        self.metrics = metrics
        client = r.client
        transport = r.transport
        receivedUs = r.receivedUs
        qtype = r.question.type
        name = policy.queryLog == nil ? [] : r.question.name(in: r.bytes)
        self.signer = signer
        self.responder = responder
    }

    func deliver(_ bytes: [UInt8], source: AnswerSource) {
        var answer = bytes
        if var s = signer {
            // The resolver wrote the answer to fit the client's size; a signed one over UDP may now be a TSIG
            // longer, which only a client that signs its queries to a resolver would meet.
            guard let signed = s.sign(answer, now: Signing.now()) else { return }
            answer = signed
        }
        let size = answer.withUnsafeMutableBytes {
            Pipeline.rateLimit(policy, metrics, client: client, transport: transport, receivedUs: receivedUs, $0.baseAddress!, size: $0.count)
        }
        guard let size else { return }
        if size < answer.count { answer.removeLast(answer.count - size) }
        Pipeline.observe(policy.queryLog, metrics, client: client, qtype: qtype, name: name, rcode: answer.count > 3 ? answer[3] & 0x0F : 2,
                         source: source, transport: transport, receivedUs: receivedUs)
        responder.respond(answer)
    }
}

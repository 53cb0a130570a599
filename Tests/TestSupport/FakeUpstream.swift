import DNSForward
import DNSWire
import Synchronization

/// An upstream for the resolver without sockets: `answer` makes each reply from the query (our ID already in
/// it), and the completion runs on the caller's thread, so a test sees every effect before `handle` returns.
/// It counts what it was asked.
public final class FakeUpstream: UpstreamTransport {
    public typealias Answer = @Sendable (_ query: Message, _ zone: Int) -> Result<Message, ForwardError>
    let answer: Answer
    let asked = Mutex<[(question: String, zone: Int)]>([])

    public init(answer: @escaping Answer) { self.answer = answer }

    /// The factory `Resolver(upstream:)` takes; `made` receives the instance built.
    public static func factory(_ answer: @escaping Answer, made: @escaping @Sendable (FakeUpstream) -> Void = { _ in }) -> UpstreamFactory {
        { _, _, _, _ in
            let f = FakeUpstream(answer: answer)
            made(f)
            return f
        }
    }

    /// "name TYPE" of each query sent, in order.
    public var questions: [String] { asked.withLock { $0.map(\.question) } }
    /// The forward zone (the resolver's index) each query was sent to, in order.
    public var zones: [Int] { asked.withLock { $0.map(\.zone) } }

    public func forward(_ query: [UInt8], key: CoalesceKey, completion: @escaping ForwardCompletion) {
        guard let q = try? Message.parse(query) else { return completion(.failure(.badMessage("unparsable"))) }
        asked.withLock { $0.append(("\(q.questions.first?.name.description ?? "?") \(q.questions.first?.type.description ?? "?")", key.zone)) }
        switch answer(q, key.zone) {
        case .success(var m):
            m.header.id = q.header.id
            m.header.qr = true
            completion(.success(m.wireBytes()))
        case .failure(let e):
            completion(.failure(e))
        }
    }

    public var health: [[ServerHealth]] { [] }
    public var statistics: ForwarderStats { ForwarderStats() }
    public func stop() {}

    /// An answer: `records` for the question, or NXDOMAIN with an SOA when there are none and `nxdomain`.
    public static func reply(to q: Message, _ records: [ResourceRecord], nxdomain: Bool = false) -> Message {
        var m = Message(header: Header(id: q.header.id))
        m.header.qr = true
        m.header.ra = true
        m.questions = q.questions
        m.answers = records
        if nxdomain { m.rcode = .nxDomain }
        return m
    }
}

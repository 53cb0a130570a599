#if canImport(Glibc)
import Glibc
#endif
@testable import DNSServer
import DNSForward
import DNSStore
import DNSTSIG
import DNSWire
import DNSZone
import Synchronization
import SystemIO

/// The query pipeline without sockets (in the spirit of swift-nio's EmbeddedChannel and CoreDNS's
/// dnstest.NewRecorder): a catalog, a config, optionally a resolver over a fake upstream; `ask` hands one
/// query in as a listener would and records what comes out, now or later.
public final class PipelineHarness {
    public let metrics = MetricBlock()
    let policy: Policy
    let catalog: Catalog
    /// The TSIG keys the pipeline verifies with (`keys:` of init).
    let keys: KeyRing
    public let upstream: FakeUpstream?
    var scratch: PipelineScratch
    let late = LateReplies()
    /// The arrival time every request is stamped with, once `freezeClock` is called (nil: the real clock):
    /// the rate limiter's budget then does not depend on how fast the machine runs the test.
    var frozenUs: Int?

    public func freezeClock() { frozenUs = monotonicUs() }

    /// The resolver's loop token (a query carrying it is this server's own, come back).
    public var loopToken: [UInt8]? { policy.resolver?.loopToken }

    /// - Parameters:
    ///   - config: jamdns.toml text; `[resolver]` settings apply when `upstream` is given.
    ///   - memoSlots: the UDP answer memo (0 = off, as for TCP).
    public init(catalog: Catalog, config: String = "", memoSlots: Int = 64, upstream: FakeUpstream.Answer? = nil, keys: [TSIGKey] = [],
                secondaries: Secondaries? = nil) throws {
        var cfg = try ServerConfig.parse(config)
        self.catalog = catalog
        self.keys = KeyRing(keys)
        var resolver: Resolver? = nil
        if let upstream {
            if cfg.resolver.upstreams.isEmpty { cfg.resolver.upstreams = [UpstreamServer("192.0.2.200")!] }
            let box = Mutex<FakeUpstream?>(nil)
            resolver = try Resolver(config: cfg.resolver, ednsPayload: cfg.ednsUDPPayload,
                                    upstream: FakeUpstream.factory(upstream, made: { f in box.withLock { $0 = f } }))
            self.upstream = box.withLock { $0 }
        } else {
            self.upstream = nil
        }
        policy = Policy(generation: 1, config: cfg, resolver: resolver, queryLog: nil, secondaries: secondaries)
        scratch = PipelineScratch(memoSlots: memoSlots)
    }

    /// What became of one query: the outcome, and the answer sent now or later (nil when dropped).
    public struct Result {
        public var outcome: Outcome
        public var answer: Message?
        public var bytes: [UInt8]?
        /// A transfer's messages, in order, as the TCP listener would send them.
        public var messages: [[UInt8]] = []
    }

    /// What an IXFR's journal read returns (zone, from, to); nil (the default) = the journal does not reach.
    public var journal: @Sendable (DNSName, UInt32, UInt32) -> [SerialDiff]? = { _, _, _ in nil }

    final class LateReplies: Responder, @unchecked Sendable {
        let lock = Mutex<[[UInt8]]>([])
        func respond(_ bytes: [UInt8]) { lock.withLock { $0.append(bytes) } }
        func take() -> [[UInt8]] { lock.withLock { let all = $0; $0 = []; return all } }
    }

    public func ask(_ query: [UInt8], from client: String = "192.168.1.7", transport: Transport = .udp) -> Result {
        var out = [UInt8](repeating: 0, count: 65535)
        let capacity = transport == .udp ? 4096 : 65535
        let ip = Self.address(client)
        let pipeline = Pipeline(catalog: catalog, policy: policy, keys: keys, metrics: metrics)
        let outcome = query.withUnsafeBytes { q in
            out.withUnsafeMutableBytes { o in
                pipeline.handle(Request(bytes: q, client: ip, transport: transport, receivedUs: frozenUs ?? monotonicUs()), scratch: &scratch,
                                into: o.baseAddress!, capacity: capacity, responder: { self.late })
            }
        }
        switch outcome {
        case .reply(let size, _):
            let bytes = Array(out[0..<size])
            return Result(outcome: outcome, answer: try? Message.parse(bytes), bytes: bytes)
        case .drop:
            return Result(outcome: outcome, answer: nil, bytes: nil)
        case .transfer(let plan):
            let q = plan.query
            let diffs = plan.needsJournal ? journal(q.zone.origin, q.clientSerial!, q.zone.soa.serial) : nil
            let stream = TransferStream(plan: plan, diffs: diffs)
            var messages: [[UInt8]] = []
            while let m = stream.nextMessage(now: UInt64(time(nil))) { messages.append(m) }
            return Result(outcome: outcome, answer: messages.first.flatMap { try? Message.parse($0) }, bytes: messages.first, messages: messages)
        case .later:
            // The fake upstream answers on this thread: whatever came back is here already.
            let bytes = late.take().first
            return Result(outcome: outcome, answer: bytes.flatMap { try? Message.parse($0) }, bytes: bytes)
        }
    }

    public func ask(_ name: String, _ type: RRType, from client: String = "192.168.1.7", transport: Transport = .udp, rd: Bool = true,
                    id: UInt16 = 7, edns: EDNS? = EDNS()) -> Result {
        ask(Message.query(try! DNSName(name), type, id: id, recursionDesired: rd, edns: edns).wireBytes(), from: client, transport: transport)
    }

    /// 192.0.2.7 or 2001:db8::7 as the listener reads it from a sockaddr.
    static func address(_ text: String) -> IPBits {
        var ss = sockaddr_storage()
        withUnsafeMutableBytes(of: &ss) { raw in
            if let v4 = IPv4Address(text) {
                raw.storeBytes(of: sa_family_t(AF_INET), as: sa_family_t.self)
                for (i, b) in v4.bytes.enumerated() { raw[4 + i] = b }
            } else if let v6 = IPv6Address(text) {
                raw.storeBytes(of: sa_family_t(AF_INET6), as: sa_family_t.self)
                for (i, b) in v6.bytes.enumerated() { raw[8 + i] = b }
            }
        }
        return withUnsafeBytes(of: &ss) { IPBits($0.baseAddress!) }
    }
}

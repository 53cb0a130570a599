#if canImport(Glibc)
import Glibc
#endif
import DNSCache
import DNSForward
import DNSWire
import Synchronization
import SystemIO

/// The answer cache, shared by a resolver and the one that replaces it on a config reload.
public final class SharedCache: Sendable {
    let mutex: Mutex<DNSCache>
    init(_ c: sending DNSCache) { mutex = Mutex(c) }
    func withLock<R: Sendable>(_ body: (inout sending DNSCache) -> sending R) -> R { mutex.withLock(body) }
}

/// A question that no served zone answers, handed from the query engine to the resolver.
public struct RecursionQuery: Sendable {
    public var id: UInt16
    public var flags: UInt16
    public var question: Question
    /// The client's EDNS, if it sent one.
    public var edns: EDNS?
    /// The largest answer the client takes over its transport.
    public var maxSize: Int
    /// The name has data in a served zone (it falls through for this type, or is under a "resolve upstream"
    /// name): an upstream NXDOMAIN reaches the client as NODATA, since the name does exist.
    public var nameExists: Bool
    /// The forward zone the route table found for the name (index into the resolver's `zoneNames`); nil:
    /// none holds it, so no upstream is configured for it.
    public var forward: Int?

    /// The query's RD and CD bits, read through `Header` rather than by mask.
    var recursionDesired: Bool { Header(id: id, flags: flags).rd }
    var checkingDisabled: Bool { Header(id: id, flags: flags).cd }

    public init(id: UInt16, flags: UInt16, question: Question, edns: EDNS?, maxSize: Int, forward: Int?, nameExists: Bool = false) {
        self.id = id
        self.forward = forward
        self.flags = flags
        self.question = question
        self.edns = edns
        self.maxSize = maxSize
        self.nameExists = nameExists
    }
}

/// Where a question goes (decided before any network traffic).
public enum Route: Sendable, Equatable {
    case forward(zone: Int)
    case refuse(ExtendedErrorCode, String)
    case nxDomain(String)
}

/// Recursion for LAN clients: policy, cache and forwarding. `resolve` never blocks; answers are delivered
/// through `reply`, from the caller's thread (cache hits, policy answers) or the forwarder's thread.
public final class Resolver: Sendable {
    public let config: ResolverConfig
    let forwarder: any UpstreamTransport
    let cache: SharedCache
    /// Forward zones, the default ("." = upstreams) last; index = forwarder zone index. The route table
    /// (`RouteTable.forwardZones`) holds them with the served zones and finds the one for a name.
    public let zoneNames: [DNSName]
    /// Each zone's servers, indexed like `zoneNames`.
    let zoneServers: [[UpstreamServer]]
    /// `config.allowRecursion`, compiled (the one prefix matcher, no allocation per question).
    let recursionACL: PrefixMatcher
    let policies: [CachePolicy]
    let staleAllowed: [Bool]
    let ednsPayload: Int
    /// Marks our own upstream queries (a local-use EDNS option, RFC 6891 §9: servers ignore unknown options).
    /// One that comes back to our listener has gone around a forwarding loop.
    public static let loopOptionCode: UInt16 = 65_042
    public let loopToken: [UInt8] = (0..<8).map { _ in UInt8.random(in: 0...255) }

    /// - Parameters:
    ///   - reusing: the cache of the resolver this one replaces (config reload): its answers are kept, under
    ///     the new bounds.
    ///   - previous: the resolver this one replaces: servers that stay (same zone, same address) keep their
    ///     health, latency and counts, and the forwarder's counters keep counting.
    ///   - upstream: builds the transport to the servers (the c-ares forwarder; tests pass a fake).
    public init(config: ResolverConfig, ednsPayload: Int = 1232, reusing: SharedCache? = nil, previous: Resolver? = nil,
                upstream: UpstreamFactory = Forwarder.factory) throws {
        self.config = config
        self.ednsPayload = ednsPayload
        var names: [DNSName] = []
        var servers: [[UpstreamServer]] = []
        var policies: [CachePolicy] = []
        var stale: [Bool] = []
        let base = CachePolicy(minTTL: config.cacheMinTTL, maxTTL: config.cacheMaxTTL, negativeMaxTTL: config.negativeMaxTTL,
                               staleWindow: config.staleWindow)
        for z in config.zones {
            names.append(z.name)
            servers.append(z.servers)
            var p = base
            p.enabled = z.cache
            p.minTTL = max(base.minTTL, z.minTTL)
            if !z.serveStale { p.staleWindow = 0 }
            policies.append(p)
            stale.append(z.serveStale)
        }
        if !config.upstreams.isEmpty {
            names.append(.root)
            servers.append(config.upstreams)
            policies.append(base)
            stale.append(true)
        }
        zoneNames = names
        recursionACL = PrefixMatcher(config.allowRecursion)
        self.policies = policies
        staleAllowed = stale
        var opts = ForwarderOptions()
        opts.tryTimeoutMs = config.tryTimeoutMs
        opts.deadlineMs = config.deadlineMs
        opts.idleProbeMs = config.probeIntervalMs
        opts.maxInFlightPerServer = config.maxInFlightPerServer
        opts.hedge = config.hedge
        var carried: (health: [[ServerHealth?]], stats: ForwarderStats)? = nil
        if let previous {
            let oldHealth = previous.forwarder.health
            let oldServers = previous.zoneServers
            carried = (names.indices.map { z in
                servers[z].map { server -> ServerHealth? in
                    guard let oz = previous.zoneNames.firstIndex(of: names[z]), oz < oldHealth.count,
                          let os = oldServers[oz].firstIndex(of: server), os < oldHealth[oz].count else { return nil }
                    return oldHealth[oz][os]
                }
            }, previous.forwarder.statistics)
        }
        zoneServers = servers
        forwarder = try upstream(servers, opts, names, carried)
        if let old = reusing {
            old.withLock { $0.resize(maxEntries: config.cacheSize, maxBytes: config.cacheMaxBytes) }
            cache = old
        } else {
            cache = SharedCache(DNSCache(maxEntries: config.cacheSize, maxBytes: config.cacheMaxBytes))
        }
    }

    public func stop() { forwarder.stop() }

    public var cacheStats: CacheStats { cache.withLock { $0.stats } }
    public var forwarderStats: ForwarderStats { forwarder.statistics }

    static func nowMs() -> Int64 { monotonicMs() }

    /// Answers `q` for a client at `client` (4- or 16-byte address). An answer known at once (cache hit,
    /// policy) is returned, so the caller can send it in its batch; otherwise nil is returned and `reply`
    /// gets the answer later, from the forwarder's thread.
    public func resolve(_ q: RecursionQuery, client: [UInt8], reply: @escaping @Sendable ([UInt8], AnswerSource) -> Void) -> ([UInt8], AnswerSource)? {
        switch answerNow(q, client: client) {
        case .answer(let bytes, let source): return (bytes, source)
        case .fetch(let zone, let key):
            fetch(q, zone: zone, key: key, reply: reply)
            return nil
        }
    }

    public enum Immediate: Sendable {
        case answer([UInt8], AnswerSource)
        case fetch(zone: Int, key: CacheKey)
    }

    /// Everything that needs no network: policy answers and cache hits. `.fetch` means the caller should
    /// call `fetch` with a reply callback (built only then, so hits allocate no closure).
    public func answerNow(_ q: RecursionQuery, client: [UInt8]) -> Immediate { answerNow(q, client: IPBits(bytes: client)) }

    func answerNow(_ q: RecursionQuery, client: IPBits) -> Immediate {
        if let opts = q.edns?.options, opts.contains(where: { $0.code == Self.loopOptionCode && $0.data == loopToken }) {
            return .answer(Self.localAnswer(q, rcode: .servFail, ede: .other, text: "forwarding loop: this query came from this server", ednsPayload: ednsPayload), .local)
        }
        switch route(q.question, client: client, forward: q.forward) {
        case .refuse(let ede, let text):
            return .answer(Self.localAnswer(q, rcode: .refused, ede: ede, text: text, ednsPayload: ednsPayload), .refused)
        case .nxDomain(let text):
            return .answer(Self.localAnswer(q, rcode: .nxDomain, ede: .blocked, text: text, ednsPayload: ednsPayload), .local)
        case .forward(let zone):
            let key = CacheKey(name: q.question.name, type: q.question.type, qclass: q.question.qclass, dnssecOK: q.edns?.dnssecOK ?? false)
            let now = Self.nowMs()
            let hit = cache.withLock { $0.lookup(key, now: now) }
            if let hit {
                if hit.wantsPrefetch { fetch(q, zone: zone, key: key, reply: nil) }
                var wire = hit.wire
                if Self.patchInPlace(&wire, q, ednsPayload: ednsPayload) { return .answer(wire, .cache) }
                return .answer(reencodedAnswer(from: hit.wire, q, stale: false), .cache)
            }
            // RD clear: a cache-only question (RFC 1034 §4.3.1); nothing cached means nothing to say.
            guard q.recursionDesired else {
                return .answer(Self.localAnswer(q, rcode: .refused, ede: .notAuthoritative, text: "not cached and recursion not desired", ednsPayload: ednsPayload), .refused)
            }
            return .fetch(zone: zone, key: key)
        }
    }

    /// Asks upstream; caches what comes back; answers the client (nil: a prefetch, nobody waits).
    public func fetch(_ q: RecursionQuery, zone: Int, key: CacheKey, reply: (@Sendable ([UInt8], AnswerSource) -> Void)?) {
        var m = Message(header: Header(id: 0))
        m.header.rd = true
        m.header.cd = q.checkingDisabled
        m.questions = [q.question]
        // Always EDNS upstream: Consul returns at most 3 A records without it and never sets TC.
        m.edns = EDNS(udpPayloadSize: 1232, dnssecOK: q.edns?.dnssecOK ?? false,
                      options: [EDNSOption(code: Self.loopOptionCode, data: loopToken)])
        let upstreamQuery = m.wireBytes()
        let ck = CoalesceKey(name: q.question.name, type: q.question.type, qclass: q.question.qclass, dnssecOK: q.edns?.dnssecOK ?? false, zone: zone)
        let policy = policies[zone]
        let stale = staleAllowed[zone]
        forwarder.forward(upstreamQuery, key: ck) { [self] result in
            switch result {
            case .success(let answer):
                cache.withLock { _ = $0.insert(answer, for: key, policy: policy, now: Self.nowMs()) }
                reply?(reencodedAnswer(from: answer, q, stale: false), .forward)
            case .failure(let err):
                guard let reply else { return }
                if stale, let old = cache.withLock({ $0.lookup(key, now: Self.nowMs(), allowStale: true) }) {
                    reply(clientAnswer(from: old.wire, q, stale: true), .stale)
                    return
                }
                let text: String
                switch err {
                case .overloaded: text = "too many questions in flight upstream"
                case .allServersFailed(let n): text = "no upstream answered (\(n) tried)"
                case .badMessage(let s): text = s
                }
                reply(Self.localAnswer(q, rcode: .servFail, ede: .noReachableAuthority, text: text, ednsPayload: ednsPayload), .forward)
            }
        }
    }

}


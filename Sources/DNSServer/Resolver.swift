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

    public func flushCache(_ name: DNSName?) -> Int { cache.withLock { $0.flush(name) } }

    public struct UpstreamState: Sendable {
        public var zone: String
        public var server: String
        public var alive: Bool
        public var suspect: Bool
        /// unknown (never asked or answered yet), up, down: what `jamdns_upstream_up` reports.
        public var state: ServerState
        public var rttMs: Double
        public var answered: Int
        public var failed: Int

        /// "192.168.10.120#8600 up rtt=1ms answered=52 failed=0"
        public var summary: String {
            "\(server) \(state == .up && suspect ? "suspect" : state.rawValue) rtt=\(state == .unknown ? "?" : "\(Int(rttMs))ms") answered=\(answered) failed=\(failed)"
        }
    }

    /// Every upstream server's health: zone ("." for the default upstreams), address, state, latency, counts.
    public func upstreamHealth() -> [UpstreamState] {
        let health = forwarder.health
        let now = Self.nowMs()
        var servers: [[UpstreamServer]] = config.zones.map(\.servers)
        if !config.upstreams.isEmpty { servers.append(config.upstreams) }
        var out: [UpstreamState] = []
        for (z, row) in servers.enumerated() where z < health.count {
            for (i, server) in row.enumerated() where i < health[z].count {
                let h = health[z][i]
                out.append(UpstreamState(zone: zoneNames[z].description, server: server.description, alive: h.isAlive(now: now),
                                         suspect: h.consecutiveFailures > 0, state: h.state(now: now), rttMs: h.rttMs, answered: h.answered, failed: h.failed))
            }
        }
        return out
    }

    /// One line per upstream server: zone, address, alive or dead, latency, answers and failures.
    public func upstreamReport() -> String {
        upstreamHealth().map { "upstream \($0.zone) \($0.summary)\n" }.joined()
    }

    public func cacheEntries(for name: DNSName) -> [(type: RRType, kind: AnswerKind, remaining: Int, dnssecOK: Bool)] {
        let now = Self.nowMs()
        return cache.withLock { $0.entries(for: name, now: now) }
    }

    /// One line per cached answer for `name`: "A positive 42s left", "AAAA noData expired 3s ago (stale) DO".
    public func cacheLines(for name: DNSName) -> [String] {
        cacheEntries(for: name).map { e in
            let state = e.remaining >= 0 ? "\(e.remaining)s left" : "expired \(-e.remaining)s ago (stale)"
            return "\(e.type) \(e.kind) \(state)\(e.dnssecOK ? " DO" : "")"
        }
    }

    static func nowMs() -> Int64 { monotonicMs() }

    /// Policy first (nothing leaves the machine for a refused or local answer), then the forward zone the
    /// route table found for the name (`forward`).
    public func route(_ q: Question, client: [UInt8], forward: Int?) -> Route { route(q, client: IPBits(bytes: client), forward: forward) }

    func route(_ q: Question, client: IPBits, forward best: Int?) -> Route {
        guard recursionACL.contains(client) else {
            return .refuse(.prohibited, "recursion is not offered to this client")
        }
        let isDefault = best.map { zoneNames[$0].isRoot } ?? true
        if isDefault {
            // domain-needed: a plain name ("nas") is never sent upstream (dnsmasq answers it locally too).
            if config.domainNeeded, q.name.labelCount == 1, ![RRType.ns, .soa, .ds, .dnskey].contains(q.type) {
                return .nxDomain("single-label names are not forwarded (domain_needed)")
            }
            // bogus-priv: reverse lookups for private ranges never go to public upstreams.
            if config.bogusPriv, Self.isPrivateReverse(q.name) {
                return .nxDomain("private-range reverse lookups are not forwarded (bogus_priv)")
            }
        }
        guard let b = best, b < zoneNames.count else { return .refuse(.notAuthoritative, "not authoritative and no upstream is configured") }
        return .forward(zone: b)
    }

    /// in-addr.arpa / ip6.arpa names inside RFC 1918, RFC 6598, loopback, link-local or ULA space.
    static let inAddrArpa = try! DNSName("in-addr.arpa."), ip6Arpa = try! DNSName("ip6.arpa.")

    static func isPrivateReverse(_ name: DNSName) -> Bool {
        // Cheap test first: almost every forwarded name is not a reverse name.
        guard name.isSubdomain(of: inAddrArpa) || name.isSubdomain(of: ip6Arpa) else { return false }
        let labels = name.labels.map { String(decoding: $0, as: UTF8.self).lowercased() }
        guard labels.count >= 2 else { return false }
        let tail = labels.suffix(2)
        if tail.elementsEqual(["in-addr", "arpa"]) {
            // dnsmasq's bogus-priv set (0/8, 10/8, 127/8, 169.254/16, 172.16/12, 192.168/16, the TEST-NETs of
            // RFC 5737, the broadcast address) plus the shared space 100.64/10 (RFC 6598, RFC 7793).
            let o = labels.dropLast(2).reversed().compactMap { UInt8($0) }
            guard let a = o.first else { return false }
            let b = o.count > 1 ? o[1] : nil, c = o.count > 2 ? o[2] : nil
            switch a {
            case 0, 10, 127: return true
            case 169: return b == 254
            case 172: return b.map { (16...31).contains($0) } ?? false
            case 192: return b == 168 || (b == 0 && c == 2)
            case 198: return b == 51 && c == 100
            case 203: return b == 0 && c == 113
            case 100: return b.map { (64...127).contains($0) } ?? false
            case 255: return o.count == 4 && o.allSatisfy { $0 == 255 }
            default: return false
            }
        }
        if tail.elementsEqual(["ip6", "arpa"]) {
            // ::, ::1, link-local fe80::/10, site-local fec0::/10, ULA fc00::/7 (dnsmasq: fd00::/8) and the
            // documentation prefix 2001:db8::/32.
            let n = labels.dropLast(2).reversed().compactMap { UInt8($0, radix: 16) }
            guard n.count >= 2 else { return false }
            if n.count == 32, n.dropLast().allSatisfy({ $0 == 0 }), n[31] <= 1 { return true }
            if n[0] == 0xF && (n[1] == 0xC || n[1] == 0xD) { return true }
            if n.count >= 3, n[0] == 0xF, n[1] == 0xE, n[2] >= 8 { return true }  // fe80::/10 and fec0::/10
            if n.count >= 8, n.prefix(8).elementsEqual([2, 0, 0, 1, 0, 0xD, 0xB, 8]) { return true }
            return false
        }
        return false
    }

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

    /// The upstream's (or the cache's) answer made into the client's: its ID, its question as written, RD/CD
    /// as asked, RA set, AA clear, our own OPT, and no more than the client can take (TC otherwise).
    /// Fast path for answers without OPT (what the cache holds): patch the header and the question's bytes in
    /// place and append our OPT; anything else goes through parse and re-encode.
    func clientAnswer(from wire: [UInt8], _ q: RecursionQuery, stale: Bool) -> [UInt8] {
        if !stale, let fast = Self.patchedAnswer(wire, q, ednsPayload: ednsPayload) { return fast }
        return reencodedAnswer(from: wire, q, stale: stale)
    }

    static func patchedAnswer(_ wire: [UInt8], _ q: RecursionQuery, ednsPayload: Int) -> [UInt8]? {
        var out = wire
        return patchInPlace(&out, q, ednsPayload: ednsPayload) ? out : nil
    }

    /// Patches a cached (OPT-free) answer in place into the client's answer; false if it needs re-encoding.
    static func patchInPlace(_ out: inout [UInt8], _ q: RecursionQuery, ednsPayload: Int) -> Bool {
        let wire = out
        let qn = q.question.name.wire
        guard wire.count >= 12 + qn.count + 4, wire[4] == 0, wire[5] == 1 else { return false }
        let ar = Int(wire[10]) << 8 | Int(wire[11])
        // The cached question must be the same name (case aside): then its bytes have the same length.
        guard wire[12 + qn.count - 1] == 0 else { return false }
        var i = 0
        while i < qn.count {
            if DNSName.lower(wire[12 + i]) != DNSName.lower(qn[i]) { return false }
            i += 1
        }
        let optSize = q.edns == nil ? 0 : 11
        guard wire.count + optSize <= q.maxSize, ar < 0xFFFF else { return false }  // needs truncation: slow path
        out[0] = UInt8(q.id >> 8)
        out[1] = UInt8(q.id & 0xFF)
        // QR, opcode QUERY, AA clear, TC clear, RD as asked; RA set, Z and AD clear, CD as asked; RCODE kept.
        out[2] = 0x80 | UInt8((q.flags >> 8) & 0x01)
        out[3] = 0x80 | UInt8(q.flags & 0x10) | Self.clientRCode(wire[3] & 0x0F, q)
        for k in 0..<qn.count { out[12 + k] = qn[k] }
        if let e = q.edns {
            out += [0, 0, 41, UInt8(ednsPayload >> 8), UInt8(ednsPayload & 0xFF), 0, 0, e.dnssecOK ? 0x80 : 0, 0, 0, 0]
            out[10] = UInt8((ar + 1) >> 8)
            out[11] = UInt8((ar + 1) & 0xFF)
        }
        return true
    }

    func reencodedAnswer(from wire: [UInt8], _ q: RecursionQuery, stale: Bool) -> [UInt8] {
        guard var m = try? Message.parse(wire) else {
            return Self.localAnswer(q, rcode: .servFail, ede: .invalidData, text: "upstream answer did not parse", ednsPayload: ednsPayload)
        }
        let rcode = m.rcode
        var h = Header(id: q.id)
        h.qr = true
        h.opcode = .query
        h.rd = q.recursionDesired
        h.cd = q.checkingDisabled
        h.ra = true
        m.header = h
        m.questions = [q.question]
        if let ce = q.edns {
            var e = EDNS(udpPayloadSize: UInt16(ednsPayload), dnssecOK: ce.dnssecOK)
            if stale { e.options.append(.extendedError(.staleAnswer, "upstream unreachable; answer from expired cache")) }
            m.edns = e
        } else {
            m.edns = nil
        }
        m.rcode = RCode(rawValue: UInt16(Self.clientRCode(UInt8(rcode.rawValue & 0xF), q)))
        return m.wireBytes(maxSize: q.maxSize)
    }

    /// NXDOMAIN for a name that has data in a served zone becomes NOERROR (NODATA): the name exists here.
    @inline(__always) static func clientRCode(_ upstream: UInt8, _ q: RecursionQuery) -> UInt8 {
        q.nameExists && upstream == 3 ? 0 : upstream
    }

    static func localAnswer(_ q: RecursionQuery, rcode: RCode, ede: ExtendedErrorCode, text: String, ednsPayload: Int) -> [UInt8] {
        var m = Message(header: Header(id: q.id))
        m.header.opcode = Header(id: q.id, flags: q.flags).opcode
        m.header.rd = q.recursionDesired
        m.header.cd = q.checkingDisabled
        m.header.qr = true
        m.header.ra = true
        m.questions = [q.question]
        if let ce = q.edns {
            m.edns = EDNS(udpPayloadSize: UInt16(ednsPayload), dnssecOK: ce.dnssecOK, options: [.extendedError(ede, text)])
        }
        m.rcode = rcode
        return m.wireBytes(maxSize: q.maxSize)
    }
}


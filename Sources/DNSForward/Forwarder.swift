#if canImport(Glibc)
import Glibc
#endif
import CAres
import DNSWire
import Synchronization
import SystemIO

/// Identical questions in flight share one upstream query (coalescing): this names "identical".
public struct CoalesceKey: Hashable, Sendable {
    public var name: [UInt8]
    public var type: UInt16
    public var qclass: UInt16
    public var dnssecOK: Bool
    public var zone: Int
    public init(name: DNSName, type: RRType, qclass: RRClass, dnssecOK: Bool, zone: Int) {
        self.name = name.lowercased.wire
        self.type = type.rawValue
        self.qclass = qclass.rawValue
        self.dnssecOK = dnssecOK
        self.zone = zone
    }
}

public typealias ForwardCompletion = @Sendable (Result<[UInt8], ForwardError>) -> Void

/// What the resolver needs of the network: send a question to a zone's servers and get one answer back, and
/// report the servers' health. `Forwarder` is the real one (c-ares); tests use a fake.
public protocol UpstreamTransport: Sendable {
    /// `completion` gets the answer (ID as sent) or why there is none, from any thread.
    func forward(_ query: [UInt8], key: CoalesceKey, completion: @escaping ForwardCompletion)
    var health: [[ServerHealth]] { get }
    var statistics: ForwarderStats { get }
    func stop()
}

/// What a resolver's transport is built from (the real one is `Forwarder.init`).
public typealias UpstreamFactory = @Sendable (_ zones: [[UpstreamServer]], _ options: ForwarderOptions, _ zoneNames: [DNSName],
                                              _ carried: (health: [[ServerHealth?]], stats: ForwarderStats)?) throws -> any UpstreamTransport

public struct ForwarderOptions: Sendable {
    /// Per-try timeout: short, so failover to the next server happens well under a second.
    public var tryTimeoutMs = 400
    /// Overall budget for one question across every server of its zone.
    public var deadlineMs = 1500
    /// Questions in flight to one server at most (platform notes: thousands at once lost 5-18 % on loopback);
    /// a server at its bound is passed over for the next one, so a stalled server cannot use up the others'.
    public var maxInFlightPerServer = 256
    /// Questions being worked on at most, all zones together (memory): beyond, SERVFAIL at once.
    public var maxPending = 4096
    /// Hedging: a question not answered within a few times the server's usual RTT (at least RTT + 50 ms, at
    /// most half a try) is also sent to the next server; the first answer wins. false: wait for the timeout.
    public var hedge = true
    /// c-ares 1.18 keeps one source port per server socket; with only the 16-bit ID left against spoofing,
    /// each server's channel (so its socket and port) is replaced after this many queries or seconds.
    public var rotateAfterQueries = 1000
    public var rotateAfterSeconds = 60
    /// A server nobody has asked for this long gets a health probe (its zone's SOA, or `. NS` for the
    /// default upstreams, as CoreDNS does); every server is probed once at start. 0 = no probes.
    public var idleProbeMs = 15_000
    public init() {}
}

/// Forwards queries to upstream servers through c-ares 1.18, on one thread that owns every channel and
/// drives their sockets with poll(2) (`ARES_OPT_SOCK_STATE_CB` + `ares_process_fd` + `ares_timeout`).
/// Other threads hand work in through `forward`, which never blocks on the network.
public final class Forwarder: UpstreamTransport {
    struct Request: Sendable {
        var query: [UInt8]
        var key: CoalesceKey
        var completion: ForwardCompletion
    }

    let inbox = Mutex<[Request]>([])
    let wakeRead: Int32
    let wakeWrite: Int32
    let stopping = Atomic<Bool>(false)
    let stats = Mutex(ForwarderStats())
    let healthView: Mutex<[[ServerHealth]]>
    nonisolated(unsafe) var thread = pthread_t()

    /// - Parameters:
    ///   - zoneNames: the name each zone's probes ask the SOA of (`.` asks `. NS`); empty: no probes.
    ///   - carried: health and counters of the forwarder this one replaces (a config reload), so a dead server
    ///     stays dead and counters keep counting; indexed like `zones`, nil where a server is new.
    public init(zones: [[UpstreamServer]], options: ForwarderOptions = ForwarderOptions(), zoneNames: [DNSName] = [],
                carried: (health: [[ServerHealth?]], stats: ForwarderStats)? = nil) throws(ForwardError) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw .badMessage("pipe: \(String(cString: strerror(errno)))") }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        var initial = zones.map { Array(repeating: ServerHealth(), count: $0.count) }
        if let carried {
            for z in initial.indices where z < carried.health.count {
                for s in initial[z].indices where s < carried.health[z].count {
                    if var h = carried.health[z][s] {
                        h.probing = false  // its probe belonged to the old forwarder
                        initial[z][s] = h
                    }
                }
            }
            stats.withLock { $0 = carried.stats }
        }
        healthView = Mutex(initial)
        AresLibrary.initOnce()
        let loop = try ForwardLoop(zones: zones, options: options, owner: self, health: initial, zoneNames: zoneNames)
        let box = LoopBox(loop)
        guard let t = trySpawnThread({ box.loop.run() }) else { throw .badMessage("pthread_create: \(String(cString: strerror(errno)))") }
        thread = t
    }

    /// Queues `query` (a complete DNS query; its ID is replaced) for the zone's servers. `completion` runs on
    /// the forwarder's thread with the upstream's answer (ID as sent by us: the caller restores its own).
    public func forward(_ query: [UInt8], key: CoalesceKey, completion: @escaping ForwardCompletion) {
        inbox.withLock { $0.append(Request(query: query, key: key, completion: completion)) }
        var b: UInt8 = 1
        _ = write(wakeWrite, &b, 1)
    }

    /// The real transport, for `Resolver`.
    public static let factory: UpstreamFactory = { zones, options, names, carried in
        try Forwarder(zones: zones, options: options, zoneNames: names, carried: carried)
    }

    public var statistics: ForwarderStats { stats.withLock { $0 } }
    public var health: [[ServerHealth]] { healthView.withLock { $0 } }

    public func stop() {
        stopping.store(true, ordering: .releasing)
        var b: UInt8 = 0
        _ = write(wakeWrite, &b, 1)
        pthread_join(thread, nil)
        close(wakeRead)
        close(wakeWrite)
    }
}

public struct ForwarderStats: Sendable, Equatable {
    public var received = 0, coalesced = 0, sentUpstream = 0, answered = 0, failed = 0, overloaded = 0, rotations = 0, probes = 0
    /// Questions also sent to a second server because the first was slower than usual.
    public var hedged = 0
    public init() {}
}

enum AresLibrary {
    static let once: Void = { _ = ares_library_init(ARES_LIB_INIT_ALL) }()
    static func initOnce() { _ = once }
}

final class LoopBox: @unchecked Sendable {  // handed to the loop thread once, never shared after
    let loop: ForwardLoop
    init(_ l: ForwardLoop) { loop = l }
}

/// One c-ares channel talking to exactly one server (c-ares' own failover is not used: ours sees health).
final class AresChannel {
    var channel: ares_channel?
    let server: UpstreamServer
    let ref: ChannelRef
    /// Queries sent on it, those still unanswered, and when it was made: for source-port rotation.
    var sent = 0
    var inFlight = 0
    let created: Int64 = ForwardLoop.nowMs()

    init(server: UpstreamServer, timeoutMs: Int, ref: ChannelRef) throws(ForwardError) {
        self.server = server
        self.ref = ref
        var opts = ares_options()
        defer { ref.channel = self }
        // NOCHECKRESP: SERVFAIL/REFUSED come back as answers (we judge them), not as ECONNREFUSED.
        opts.flags = ARES_FLAG_NOCHECKRESP | ARES_FLAG_NOSEARCH
        opts.timeout = Int32(timeoutMs)
        opts.tries = 1
        opts.sock_state_cb = { data, fd, readable, writable in
            guard let data else { return }
            let r = Unmanaged<ChannelRef>.fromOpaque(data).takeUnretainedValue()
            if let ch = r.channel { r.loop?.socketState(fd: fd, channel: ch, read: readable != 0, write: writable != 0) }
        }
        opts.sock_state_cb_data = Unmanaged.passUnretained(ref).toOpaque()
        let mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_SOCK_STATE_CB
        var ch: ares_channel?
        let rc = ares_init_options(&ch, &opts, mask)
        guard rc == ARES_SUCCESS, let ch else { throw .badMessage("ares_init_options: \(String(cString: ares_strerror(rc)))") }
        let src = ares_set_servers_ports_csv(ch, server.aresCSV)
        guard src == ARES_SUCCESS else {
            ares_destroy(ch)
            throw .badMessage("bad upstream \(server): \(String(cString: ares_strerror(src)))")
        }
        channel = ch
    }

    deinit { if let channel { ares_destroy(channel) } }
}

final class ChannelRef {
    weak var loop: ForwardLoop?
    weak var channel: AresChannel?
    init() {}
}

/// A question being worked on: who waits for it, which servers were tried.
final class Pending {
    var query: [UInt8]
    let key: CoalesceKey
    var completions: [ForwardCompletion]
    let started: Int64
    var tried: Set<Int> = []
    var done = false
    /// When to send a copy to the next server if no answer came (0: no hedge due).
    var hedgeAt: Int64 = 0
    /// Tries sent and not yet answered or timed out.
    var outstanding = 0
    init(query: [UInt8], key: CoalesceKey, completion: @escaping ForwardCompletion, started: Int64) {
        self.query = query
        self.key = key
        self.completions = [completion]
        self.started = started
    }
}

/// One try of one question at one server; the callback's context.
final class Attempt {
    var channel: AresChannel?
    let pending: Pending
    let server: Int
    let sentAt: Int64
    /// A health probe of a server coming out of its back-off: only its health is updated.
    let isProbe: Bool
    /// A probe of our own (zone SOA or `. NS`): any answer at all means the server is reachable.
    var isHealthCheck = false
    weak var loop: ForwardLoop?
    init(pending: Pending, server: Int, sentAt: Int64, loop: ForwardLoop, isProbe: Bool = false) {
        self.pending = pending
        self.server = server
        self.sentAt = sentAt
        self.loop = loop
        self.isProbe = isProbe
    }
}

/// Everything the forwarder's thread owns. Confined to that thread.
final class ForwardLoop {
    let zones: [[UpstreamServer]]
    let options: ForwarderOptions
    unowned let owner: Forwarder
    var channels: [[AresChannel]] = []
    /// Replaced channels still waiting for their last answers.
    var draining: [AresChannel] = []
    var health: [[ServerHealth]]
    var sockets: [Int32: (channel: AresChannel, read: Bool, write: Bool)] = [:]
    var waiting: [CoalesceKey: Pending] = [:]
    var inFlight = 0
    /// Tries in flight per server (probes excluded), against `maxInFlightPerServer`.
    var load: [[Int]]
    /// Questions with a hedge due, and the earliest due time among them.
    var hedges: [Pending] = []
    var nextHedgeMs: Int64 = .max
    var idRandom = SystemRandomNumberGenerator()
    /// The query bytes each zone's health probe sends (nil: that zone is not probed).
    let probeQueries: [[UInt8]?]
    var lastProbeSweepMs: Int64 = 0

    init(zones: [[UpstreamServer]], options: ForwarderOptions, owner: Forwarder, health: [[ServerHealth]], zoneNames: [DNSName]) throws(ForwardError) {
        self.zones = zones
        self.options = options
        self.owner = owner
        self.health = health
        load = zones.map { Array(repeating: 0, count: $0.count) }
        probeQueries = zones.indices.map { z in
            guard options.idleProbeMs > 0, z < zoneNames.count else { return nil }
            let name = zoneNames[z]
            return Message.query(name, name.isRoot ? .ns : .soa, id: 0, recursionDesired: false, edns: EDNS()).wireBytes()
        }
        for servers in zones {
            var row: [AresChannel] = []
            for server in servers { row.append(try AresChannel(server: server, timeoutMs: options.tryTimeoutMs, ref: ChannelRef())) }
            channels.append(row)
        }
        for ch in channels.joined() { ch.ref.loop = self }
    }

    var allChannels: [AresChannel] { Array(channels.joined()) + draining }

    /// The channel to send on for server `s` of zone `z`, replaced by a fresh one (new socket, new source
    /// port) when it has carried enough queries or lived long enough; the old one drains, then goes.
    func channelFor(zone z: Int, server s: Int, now: Int64) -> AresChannel {
        let ch = channels[z][s]
        if ch.sent >= options.rotateAfterQueries || now - ch.created >= Int64(options.rotateAfterSeconds) * 1000,
            let fresh = try? AresChannel(server: ch.server, timeoutMs: options.tryTimeoutMs, ref: ChannelRef())
        {
            fresh.ref.loop = self
            channels[z][s] = fresh
            draining.append(ch)
            owner.stats.withLock { $0.rotations += 1 }
            return fresh
        }
        return ch
    }

    /// Destroys drained channels (all their queries answered or timed out).
    func reapDrained() {
        guard !draining.isEmpty else { return }
        draining.removeAll { ch in
            guard ch.inFlight == 0 else { return false }
            for (fd, v) in sockets where v.channel === ch { sockets[fd] = nil }
            return true
        }
    }

    static func nowMs() -> Int64 { monotonicMs() }

    func socketState(fd: Int32, channel: AresChannel, read: Bool, write: Bool) {
        if !read && !write { sockets[fd] = nil } else { sockets[fd] = (channel, read, write) }
    }

    func run() {
        var fds: [pollfd] = []
        var drain = [UInt8](repeating: 0, count: 256)
        while !owner.stopping.load(ordering: .acquiring) {
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: owner.wakeRead, events: Int16(POLLIN), revents: 0))
            for (fd, s) in sockets { fds.append(pollfd(fd: fd, events: Int16((s.read ? POLLIN : 0) | (s.write ? POLLOUT : 0)), revents: 0)) }
            var timeout: Int32 = 100
            var maxTV = timeval(tv_sec: 0, tv_usec: 100_000)
            var tv = timeval()
            let all = allChannels
            for ch in all {
                if let c = ch.channel, let t = ares_timeout(c, &maxTV, &tv) {
                    timeout = min(timeout, Int32(t.pointee.tv_sec * 1000 + t.pointee.tv_usec / 1000))
                }
            }
            if nextHedgeMs != .max { timeout = min(timeout, Int32(clamping: max(0, nextHedgeMs - Self.nowMs()))) }
            _ = poll(&fds, nfds_t(fds.count), max(0, timeout))
            if fds[0].revents != 0 { while read(owner.wakeRead, &drain, drain.count) > 0 {} }
            for p in fds.dropFirst() where p.revents != 0 {
                guard let s = sockets[p.fd], let c = s.channel.channel else { continue }
                let r = p.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 ? p.fd : ARES_SOCKET_BAD
                let w = p.revents & Int16(POLLOUT) != 0 ? p.fd : ARES_SOCKET_BAD
                ares_process_fd(c, r, w)
            }
            // Timeouts: c-ares checks them on every process call.
            for ch in all { if let c = ch.channel { ares_process_fd(c, ARES_SOCKET_BAD, ARES_SOCKET_BAD) } }
            reapDrained()
            let requests = owner.inbox.withLock { q -> [Forwarder.Request] in
                let all = q
                q.removeAll(keepingCapacity: true)
                return all
            }
            for r in requests { accept(r) }
            fireHedges()
            probeIdle()
            owner.healthView.withLock { $0 = health }
        }
        // Shutting down: everyone still waiting gets an answer.
        for p in waiting.values { finish(p, .failure(.allServersFailed(tried: p.tried.count))) }
        waiting.removeAll()
        channels = []
        draining = []
    }

    func accept(_ r: Forwarder.Request) {
        owner.stats.withLock { $0.received += 1 }
        if let p = waiting[r.key] {
            p.completions.append(r.completion)
            owner.stats.withLock { $0.coalesced += 1 }
            return
        }
        guard inFlight < options.maxPending else {
            owner.stats.withLock { $0.overloaded += 1 }
            r.completion(.failure(.overloaded))
            return
        }
        guard r.key.zone >= 0, r.key.zone < zones.count, !zones[r.key.zone].isEmpty else {
            r.completion(.failure(.allServersFailed(tried: 0)))
            return
        }
        let p = Pending(query: r.query, key: r.key, completion: r.completion, started: Self.nowMs())
        waiting[r.key] = p
        inFlight += 1
        dispatch(p)
    }

    /// Sends `p` to the best server not tried yet and below its in-flight bound, or fails it when none is
    /// left (and no try is still out) or the deadline passed.
    func dispatch(_ p: Pending) {
        let now = Self.nowMs()
        guard !p.done else { return }
        guard now - p.started < Int64(options.deadlineMs) else {
            finish(p, .failure(.allServersFailed(tried: p.tried.count)))
            return
        }
        guard let s = nextServer(p, now: now) else {
            if p.outstanding > 0 { return }  // a try is still out: its answer or timeout decides
            let untried = zones[p.key.zone].indices.contains { !p.tried.contains($0) }
            if untried { owner.stats.withLock { $0.overloaded += 1 } }
            finish(p, .failure(untried ? .overloaded : .allServersFailed(tried: p.tried.count)))
            return
        }
        sendTry(p, server: s, now: now)
    }

    /// The best server for `p` not tried yet whose in-flight bound has room.
    func nextServer(_ p: Pending, now: Int64) -> Int? {
        let z = p.key.zone
        return ServerSelection.order(health[z], now: now).first { !p.tried.contains($0) && load[z][$0] < options.maxInFlightPerServer }
    }

    /// One try of `p` at server `s`, with a hedge armed when another server could take it.
    func sendTry(_ p: Pending, server s: Int, now: Int64) {
        let z = p.key.zone
        p.tried.insert(s)
        // A fresh random ID per try: c-ares sends our bytes as they are.
        let id = UInt16.random(in: 0...0xFFFF, using: &idRandom)
        p.query[0] = UInt8(id >> 8)
        p.query[1] = UInt8(id & 0xFF)
        let ch = channelFor(zone: z, server: s, now: now)
        guard let c = ch.channel else { return dispatch(p) }
        let attempt = Attempt(pending: p, server: s, sentAt: now, loop: self)
        attempt.channel = ch
        p.outstanding += 1
        load[z][s] += 1
        send(p.query, on: c, attempt)
        if options.hedge, zones[z].count > 1, p.tried.count < zones[z].count {
            let rtt = health[z][s].rttMs
            let delay = min(Double(options.tryTimeoutMs) / 2, max(rtt * 3, rtt + 50))
            // On the list exactly while a hedge is armed (hedgeAt > 0): a re-dispatched question moves its time.
            if p.hedgeAt == 0 { hedges.append(p) }
            p.hedgeAt = now + Int64(delay)
            nextHedgeMs = min(nextHedgeMs, p.hedgeAt)
        }
        probeRecovering(zone: z, except: s, query: p.query, pending: p, now: now)
    }

    /// Questions whose server is slower than usual get a second try at the next server now.
    func fireHedges() {
        let now = Self.nowMs()
        guard now >= nextHedgeMs else { return }
        let armed = hedges
        hedges = []
        nextHedgeMs = .max
        for p in armed where !p.done && p.hedgeAt > 0 {
            if p.hedgeAt > now {
                hedges.append(p)
                nextHedgeMs = min(nextHedgeMs, p.hedgeAt)
                continue
            }
            p.hedgeAt = 0
            guard let s = nextServer(p, now: now) else { continue }
            owner.stats.withLock { $0.hedged += 1 }
            sendTry(p, server: s, now: now)  // arms the next hedge, if a server is left
        }
    }

    func send(_ query: [UInt8], on c: ares_channel, _ attempt: Attempt, counted: Bool = true) {
        if counted { owner.stats.withLock { $0.sentUpstream += 1 } }
        if attempt.server < health[attempt.pending.key.zone].count { health[attempt.pending.key.zone][attempt.server].lastContactMs = Self.nowMs() }
        attempt.channel?.sent += 1
        attempt.channel?.inFlight += 1
        let ctx = Unmanaged.passRetained(attempt).toOpaque()
        // A copy: c-ares may call back inside ares_send (and the retry rewrites p.query); it copies the bytes.
        let bytes = query
        bytes.withUnsafeBufferPointer { buf in
            ares_send(c, buf.baseAddress, Int32(buf.count), { arg, status, _, abuf, alen in
                guard let arg else { return }
                let a = Unmanaged<Attempt>.fromOpaque(arg).takeRetainedValue()
                let answer: [UInt8]? = (status == ARES_SUCCESS && alen > 0 && abuf != nil) ? Array(UnsafeBufferPointer(start: abuf, count: Int(alen))) : nil
                a.loop?.completed(a, status: status, answer: answer)
            }, ctx)
        }
    }

    /// Re-probing: a server whose back-off is over but that has not answered since gets a copy of a real
    /// question (one probe at a time). Healthy servers keep the client's traffic meanwhile; a good answer
    /// puts the server back among them.
    func probeRecovering(zone z: Int, except s: Int, query: [UInt8], pending: Pending, now: Int64) {
        for (i, h) in health[z].enumerated() where i != s && h.consecutiveFailures > 0 && !h.probing && h.isAlive(now: now) {
            let ch = channelFor(zone: z, server: i, now: now)
            guard let c = ch.channel else { continue }
            health[z][i].probing = true
            var q = query
            let id = UInt16.random(in: 0...0xFFFF, using: &idRandom)
            q[0] = UInt8(id >> 8)
            q[1] = UInt8(id & 0xFF)
            let probe = Attempt(pending: pending, server: i, sentAt: now, loop: self, isProbe: true)
            probe.channel = ch
            send(q, on: c, probe)
            return
        }
    }

    /// Health probes: every server once at start (so "never answered" is found out before a client needs
    /// it), then any server nobody asked for `idleProbeMs`, dead ones included once their back-off is over.
    func probeIdle() {
        let now = Self.nowMs()
        guard now - lastProbeSweepMs >= 100 else { return }
        lastProbeSweepMs = now
        for z in zones.indices {
            guard let q = probeQueries[z] else { continue }
            for s in zones[z].indices {
                let h = health[z][s]
                let idle = h.lastContactMs == 0 || now - h.lastContactMs >= Int64(options.idleProbeMs)
                guard idle, !h.probing, h.isAlive(now: now) || h.lastContactMs == 0 else { continue }
                let ch = channelFor(zone: z, server: s, now: now)
                guard let c = ch.channel else { continue }
                health[z][s].probing = true  // `send` stamps lastContactMs
                var bytes = q
                let id = UInt16.random(in: 0...0xFFFF, using: &idRandom)
                bytes[0] = UInt8(id >> 8)
                bytes[1] = UInt8(id & 0xFF)
                let pending = Pending(query: bytes, key: CoalesceKey(name: .root, type: .ns, qclass: .in, dnssecOK: false, zone: z),
                                      completion: { _ in }, started: now)
                pending.done = true
                let probe = Attempt(pending: pending, server: s, sentAt: now, loop: self, isProbe: true)
                probe.isHealthCheck = true
                probe.channel = ch
                owner.stats.withLock { $0.probes += 1 }
                send(bytes, on: c, probe, counted: false)
            }
        }
    }

    func completed(_ a: Attempt, status: Int32, answer: [UInt8]?) {
        a.channel?.inFlight -= 1
        let p = a.pending
        let now = Self.nowMs()
        let z = p.key.zone
        if a.isHealthCheck {
            // Reachable is all a probe asks: Consul may well SERVFAIL `. NS`, and still be up.
            if let answer, answer.count >= 12, answer[0] == p.query[0], answer[1] == p.query[1] {
                health[z][a.server].success(rttMs: Double(now - a.sentAt))
            } else if status != ARES_EDESTRUCTION && status != ARES_ECANCELLED {
                health[z][a.server].failure(now: now)
            }
            return
        }
        if a.isProbe {
            if let answer, answer.count >= 12, answer[3] & 0x0F != 2 {
                health[z][a.server].success(rttMs: Double(now - a.sentAt))
            } else if status != ARES_EDESTRUCTION && status != ARES_ECANCELLED {
                health[z][a.server].failure(now: now)
            }
            return
        }
        p.outstanding -= 1
        if a.server < load[z].count { load[z][a.server] -= 1 }
        if let answer, answer.count >= 12 {
            let rcode = answer[3] & 0x0F
            if rcode == 2 {
                // SERVFAIL: this server cannot answer now; count it and try the next one.
                health[z][a.server].failure(now: now)
                return dispatch(p)
            }
            // Anything else (REFUSED from Consul for names outside consul. included) is the server's answer.
            // A hedged question's slower answer still tells how the server is doing.
            health[z][a.server].success(rttMs: Double(now - a.sentAt))
            finish(p, .success(answer))
            return
        }
        // Timeout, refused connection, malformed answer: a failure of this server, even when another
        // server has answered the question meanwhile (a stalled server must still be found out).
        if status != ARES_EDESTRUCTION && status != ARES_ECANCELLED {
            health[z][a.server].failure(now: now)
        }
        dispatch(p)
    }

    func finish(_ p: Pending, _ result: Result<[UInt8], ForwardError>) {
        guard !p.done else { return }
        p.done = true
        waiting[p.key] = nil
        inFlight -= 1
        owner.stats.withLock {
            if case .success = result { $0.answered += 1 } else { $0.failed += 1 }
        }
        for c in p.completions { c(result) }
    }
}

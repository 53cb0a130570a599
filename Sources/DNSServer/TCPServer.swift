#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import DNSWire
import DNSZone
import Synchronization
import SystemIO

/// A forwarded answer's way back to a TCP client: the completion queue, by connection id, so a reused
/// descriptor never gets another client's answer.
struct TCPResponder: Responder {
    let queue: TCPCompletions
    let fd: Int32
    let connection: UInt64
    func respond(_ bytes: [UInt8]) { queue.post(.init(fd: fd, connection: connection, bytes: bytes)) }
}

/// Answers the resolver finishes for TCP clients, handed back to the TCP thread (which owns the sockets).
final class TCPCompletions: Sendable {
    struct Item: Sendable {
        var fd: Int32
        var connection: UInt64
        var bytes: [UInt8]
        /// An IXFR whose journal read finished: the plan and the differences (nil: send the zone whole).
        var transfer: (plan: TransferPlan, diffs: [SerialDiff]?)? = nil
    }
    let items = Mutex<[Item]>([])
    let wakeup = WakePipe()
    var wakeRead: Int32 { wakeup.fd }

    func post(_ item: Item) {
        items.withLock { $0.append(item) }
        wakeup.wake()
    }

    /// Wakes the loop without an item (a new listener set is waiting).
    func wake() { wakeup.wake() }

    func take() -> [Item] {
        wakeup.drain()
        return items.withLock { q in
            let all = q
            q.removeAll(keepingCapacity: true)
            return all
        }
    }
}

/// DNS over TCP (RFC 7766) on one thread with poll(2): pipelined queries answered in order, an idle timeout,
/// a connection limit, and bounded buffers so a client that never reads cannot grow our memory. Against
/// slow clients (slow-loris, trickling one byte at a time): every message must arrive whole within a deadline
/// from its first byte, one client network holds at most its share of the slots, and at the limit the slowest
/// connection makes room for a new one, so new clients keep being answered.
final class TCPServer {
    static let maxPendingOutput = 256 * 1024

    final class Connection {
        let fd: Int32
        let id: UInt64
        let client: IPBits
        /// The client's network (/24 or /56), for its share of the slots.
        let network: UInt64
        var input: [UInt8] = []
        var output: [UInt8] = []
        var outputOffset = 0
        /// The last time a whole message arrived or an answer went out: bytes alone do not count, so a
        /// trickling client stays "idle".
        var lastActive: Int64
        /// When the first byte of the message still incomplete arrived; nil when no message is partway in.
        var frameStart: Int64?
        /// Questions sent upstream whose answers have not come back: such a connection is waiting, not idle.
        var awaiting = 0
        /// At least one whole message has arrived on it.
        var hasAsked = false
        /// A zone transfer being sent: no other answer goes out until its last message has (its messages
        /// are one answer), and later queries wait in `input`.
        var stream: TransferStream?
        /// Forwarded answers that came back while a transfer was being sent, and IXFRs whose journal read
        /// finished meanwhile: each goes out once the transfer before it is done.
        var deferred: [[UInt8]] = []
        var pendingStreams: [TransferStream] = []
        init(fd: Int32, id: UInt64, client: IPBits, now: Int64) {
            self.fd = fd
            self.id = id
            self.client = client
            network = client.hi == 0 && client.lo >> 32 == 0xFFFF ? client.lo >> 8 : client.hi >> 8 | 1 << 63
            lastActive = now
        }

        /// Input holds the start of a message but not all of it.
        var partial: Bool {
            guard !input.isEmpty else { return false }
            return input.count < 2 || input.count - 2 < Int(input[0]) << 8 | Int(input[1])
        }
    }

    /// Listening sockets; a config reload hands over a new set through `pendingListeners`.
    var listeners: [Int32]
    let pendingListeners = Mutex<[Int32]?>(nil)
    let authority: Authority
    let policies: PolicyBox
    let keys: KeyBox
    let journal: JournalReader?
    let metrics: MetricBlock
    let stop: StopFlag
    let completions = TCPCompletions()
    var nextID: UInt64 = 0
    var connections: [Int32: Connection] = [:]
    var scratch = PipelineScratch()
    /// The answer to the frame being handled (up to 65,535 bytes over TCP).
    /// Zeroed memory, not arrays filled with zeros: a quiet server's TCP never touches most of the 80 KB.
    let answerBuf = ZeroedMemory(count: 65535)
    let readBuf = ZeroedMemory(count: 16384)

    init(listeners: [Int32], authority: Authority, policies: PolicyBox, keys: KeyBox, journal: JournalReader?, metrics: MetricBlock, stop: StopFlag) {
        self.listeners = listeners
        self.authority = authority
        self.policies = policies
        self.keys = keys
        self.journal = journal
        self.metrics = metrics
        self.stop = stop
    }

    /// Takes the new listener set (from another thread); sockets no longer in it are closed by the loop.
    func replaceListeners(_ fds: [Int32]) {
        pendingListeners.withLock { $0 = fds }
        completions.wake()
    }

    deinit {
        for c in connections.values { close(c.fd) }
        for l in listeners { close(l) }
    }

    func run() {
        var fds: [pollfd] = []
        while !stop.isSet {
            if let next = pendingListeners.withLock({ p -> [Int32]? in defer { p = nil }; return p }) {
                for l in listeners where !next.contains(l) { close(l) }
                listeners = next
            }
            let policy = policies.snapshot()
            fds.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: completions.wakeRead, events: Int16(POLLIN), revents: 0))
            for l in listeners { fds.append(pollfd(fd: l, events: Int16(POLLIN), revents: 0)) }
            for c in connections.values {
                let wantWrite = c.outputOffset < c.output.count
                // During a transfer, reading stops once a whole query waits: input cannot grow without bound.
                let wantRead = c.output.count - c.outputOffset < Self.maxPendingOutput && (c.stream == nil || c.input.count < 65537)
                fds.append(pollfd(fd: c.fd, events: Int16((wantRead ? POLLIN : 0) | (wantWrite ? POLLOUT : 0)), revents: 0))
            }
            let rc = poll(&fds, nfds_t(fds.count), 200)
            let now = monotonicMs()
            if rc > 0 {
                for p in fds where p.revents != 0 {
                    if p.fd == completions.wakeRead {
                        deliverCompletions(now: now)
                    } else if listeners.contains(p.fd) {
                        acceptAll(p.fd, now: now, policy: policy)
                    } else if let c = connections[p.fd] {
                        if p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readFrom(c, now: now) }
                        if let c = connections[p.fd], p.revents & Int16(POLLOUT) != 0 { flush(c, now: now) }
                    }
                }
            }
            for c in Array(connections.values) {
                if c.stream == nil, let start = c.frameStart, c.partial, now - start > policy.tcpFrameTimeoutMs {
                    metrics.count(.tcpSlowFrames)
                    drop(c)
                } else if now - c.lastActive > policy.tcpIdleTimeoutMs {
                    drop(c)
                }
            }
        }
    }

    /// Appends finished resolver answers to their connections (if those are still the same connections).
    func deliverCompletions(now: Int64) {
        for item in completions.take() {
            guard let c = connections[item.fd], c.id == item.connection else { continue }
            c.awaiting = max(0, c.awaiting - 1)
            if let t = item.transfer {
                if t.diffs == nil { metrics.count(.ixfrWhole) }
                let stream = TransferStream(plan: t.plan, diffs: t.diffs)
                if c.stream == nil { c.stream = stream } else { c.pendingStreams.append(stream) }
                pump(c, now: now)
                continue
            }
            if c.stream != nil {
                c.deferred.append(item.bytes)
                continue
            }
            Self.frame(item.bytes, into: &c.output)
            flush(c, now: now)
        }
    }

    func acceptAll(_ l: Int32, now: Int64, policy: Policy) {
        while true {
            var ss = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(l, $0, &len) } }
            guard fd >= 0 else { return }
            setNonBlocking(fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            nextID &+= 1
            let c = Connection(fd: fd, id: nextID, client: withUnsafePointer(to: &ss) { IPBits(UnsafeRawPointer($0)) }, now: now)
            // Its network at its share: it displaces its own slowest connection, or is refused. Then the
            // global limit: the slowest of all makes room. Either way a client that actually asks gets in.
            let mine = connections.values.filter { $0.network == c.network }
            if mine.count >= policy.tcpPrefixShare, !evictSlowest(mine, now: now, grace: 0) {
                refuse(fd)
                continue
            }
            if connections.count >= policy.tcpMaxConnections,
               !evictSlowest(Array(connections.values), now: now, grace: min(500, policy.tcpIdleTimeoutMs / 2, policy.tcpFrameTimeoutMs / 2)) {
                refuse(fd)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            metrics.count(.tcpAccepted)
            connections[fd] = c
        }
    }

    /// Closes the connection that deserves its slot least: the one whose message has been arriving the
    /// longest (a trickler), else the one silent the longest with nothing left to send, else the oldest that
    /// has not sent a whole message yet. With `grace`, silent connections active within it are kept (false
    /// when none is left to close): that protects other networks' clients at the global limit. Within one
    /// network's share no grace applies: its new connection displaces its own stalest, which costs no other
    /// network anything.
    func evictSlowest(_ among: [Connection], now: Int64, grace: Int64) -> Bool {
        // A message still partway in after 100 ms is slow on any LAN (a query is one segment).
        let partialGrace = min(grace, 100)
        let victim = among.filter { $0.partial && $0.frameStart.map { now - $0 >= partialGrace } == true }.min { $0.frameStart! < $1.frameStart! }
            ?? among.filter { now - $0.lastActive >= grace && $0.outputOffset >= $0.output.count && $0.awaiting == 0 }.min { $0.lastActive < $1.lastActive }
            // Still none: a connection that has not sent one whole message yet, however young, yields to a new
            // client (the oldest such first): a burst of fresh connections cannot shut the door.
            ?? among.filter { !$0.hasAsked && $0.awaiting == 0 }.min { $0.id < $1.id }
        guard let victim else { return false }
        drop(victim)
        metrics.count(.tcpEvicted)
        return true
    }

    /// Over the limit: refused by closing (RFC 7766 §6.2.2 lets servers do this).
    func refuse(_ fd: Int32) {
        metrics.count(.tcpRefused)
        close(fd)
    }

    func drop(_ c: Connection) {
        guard connections[c.fd] === c else { return }
        close(c.fd)
        connections[c.fd] = nil
    }

    func readFrom(_ c: Connection, now: Int64) {
        let n = read(c.fd, readBuf.base, readBuf.count)
        if n == 0 { flushThenClose(c); return }
        if n < 0 {
            if errno != EAGAIN && errno != EINTR { drop(c) }
            return
        }
        c.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: readBuf.bytes[0..<n]))
        if c.frameStart == nil { c.frameStart = now }
        process(c, now: now)
    }

    /// Answers every complete frame buffered, in order, until the output bound is reached or a transfer
    /// begins. Each frame goes through the pipeline; an answer from upstream comes back later, possibly out
    /// of order (RFC 7766 §7), through the completion queue, and so does an IXFR's journal read.
    func process(_ c: Connection, now: Int64) {
        guard c.stream == nil else { return }
        let pipeline = Pipeline(catalog: authority.snapshot(), policy: policies.snapshot(), keys: keys.snapshot(), metrics: metrics)
        var start = 0
        while c.input.count - start >= 2, c.stream == nil {
            if c.output.count - c.outputOffset >= Self.maxPendingOutput { break }
            let len = Int(c.input[start]) << 8 | Int(c.input[start + 1])
            guard c.input.count - start - 2 >= len else { break }
            let frame = start + 2
            start += 2 + len
            let received = monotonicUs()
            let done = completions
            let item = (fd: c.fd, id: c.id)
            let outcome = c.input.withUnsafeBytes { input in
                pipeline.handle(Request(bytes: UnsafeRawBufferPointer(rebasing: input[frame..<(frame + len)]), client: c.client, transport: .tcp, receivedUs: received),
                                scratch: &scratch, into: answerBuf.base, capacity: answerBuf.count,
                                responder: { TCPResponder(queue: done, fd: item.fd, connection: item.id) })
            }
            switch outcome {
            case .reply(let size, _):
                c.output.append(UInt8(size >> 8))
                c.output.append(UInt8(size & 0xFF))
                c.output.append(contentsOf: UnsafeRawBufferPointer(rebasing: answerBuf.bytes[0..<size]))
            case .later: c.awaiting += 1
            case .drop: break
            case .transfer(let plan):
                if plan.needsJournal, let journal {
                    c.awaiting += 1
                    let zone = plan.query.zone
                    journal.enqueue(.init(zone: zone.origin, from: plan.query.clientSerial!, to: zone.soa.serial, maxRecords: zone.recordCount) { diffs in
                        done.post(.init(fd: item.fd, connection: item.id, bytes: [], transfer: (plan, diffs)))
                    })
                } else {
                    c.stream = TransferStream(plan: plan, diffs: nil)
                }
            }
        }
        if start > 0 {
            c.input.removeFirst(start)
            // Whole messages arrived: the connection is active, and what is left (if anything) began now.
            c.lastActive = now
            c.hasAsked = true
            c.frameStart = c.input.isEmpty ? nil : now
        }
        if c.stream != nil { pump(c, now: now) } else { flush(c, now: now) }
    }

    static func frame(_ bytes: [UInt8], into out: inout [UInt8]) {
        out.append(UInt8(bytes.count >> 8 & 0xFF))
        out.append(UInt8(bytes.count & 0xFF))
        out.append(contentsOf: bytes)
    }

    /// Sends a transfer's messages as fast as the client takes them, up to the output bound at a time; when
    /// it is done, the answers held back meanwhile, then the next transfer or the next queries.
    func pump(_ c: Connection, now: Int64) {
        while let s = c.stream {
            while c.output.count - c.outputOffset < Self.maxPendingOutput, let m = s.nextMessage(now: Signing.now()) {
                Self.frame(m, into: &c.output)
            }
            if s.isDone {
                if s.failed {
                    // A broken transfer must look broken: the client sees the connection end without the last SOA.
                    metrics.count(.transferFailed)
                    c.stream = nil
                    flushThenClose(c)
                    return
                }
                policies.snapshot().noteTransfer(s, client: c.client, ms: now - s.startedMs)
                c.stream = c.pendingStreams.isEmpty ? nil : c.pendingStreams.removeFirst()
                if c.stream == nil {
                    for d in c.deferred { Self.frame(d, into: &c.output) }
                    c.deferred.removeAll()
                    if c.partial { c.frameStart = now }
                }
            }
            guard send(c, now: now), c.outputOffset >= c.output.count else { return }  // the rest on POLLOUT
        }
        if connections[c.fd] === c, hasWholeFrame(c) { process(c, now: now) }
    }

    func hasWholeFrame(_ c: Connection) -> Bool {
        c.input.count >= 2 && c.input.count - 2 >= Int(c.input[0]) << 8 | Int(c.input[1])
    }

    /// Writes what the socket takes. False when the connection was dropped.
    func send(_ c: Connection, now: Int64) -> Bool {
        while c.outputOffset < c.output.count {
            let n = c.output.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress! + c.outputOffset, c.output.count - c.outputOffset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { return true }
                if c.stream != nil { metrics.count(.transferFailed) }
                drop(c)
                return false
            }
            c.outputOffset += n
            c.lastActive = now
        }
        c.output.removeAll(keepingCapacity: true)
        c.outputOffset = 0
        return true
    }

    func flush(_ c: Connection, now: Int64) {
        guard send(c, now: now), c.outputOffset >= c.output.count, connections[c.fd] === c else { return }
        // A transfer's next messages, or frames held back by the output bound, can go now.
        if c.stream != nil {
            pump(c, now: now)
        } else if hasWholeFrame(c) {
            process(c, now: now)
        }
    }

    func flushThenClose(_ c: Connection) {
        _ = send(c, now: monotonicMs())
        drop(c)
    }
}

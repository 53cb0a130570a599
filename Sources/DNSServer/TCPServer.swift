#if canImport(Glibc)
import Glibc
#endif
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
    }
    let items = Mutex<[Item]>([])
    let wakeRead: Int32
    let wakeWrite: Int32

    init() {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        wakeRead = fds[0]
        wakeWrite = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK) }
    }

    func post(_ item: Item) {
        items.withLock { $0.append(item) }
        var b: UInt8 = 1
        _ = write(wakeWrite, &b, 1)
    }

    /// Wakes the loop without an item (a new listener set is waiting).
    func wake() {
        var b: UInt8 = 1
        _ = write(wakeWrite, &b, 1)
    }

    func take() -> [Item] {
        var drain = [UInt8](repeating: 0, count: 64)
        while read(wakeRead, &drain, drain.count) > 0 {}
        return items.withLock { q in
            let all = q
            q.removeAll(keepingCapacity: true)
            return all
        }
    }
}

/// DNS over TCP (RFC 7766) on one thread with poll(2): pipelined queries answered in order, an idle timeout,
/// a connection limit, and bounded buffers so a client that never reads cannot grow our memory.
final class TCPServer {
    static let maxPendingOutput = 256 * 1024

    final class Connection {
        let fd: Int32
        let id: UInt64
        let client: IPBits
        var input: [UInt8] = []
        var output: [UInt8] = []
        var outputOffset = 0
        var lastActive: Int64
        init(fd: Int32, id: UInt64, client: IPBits, now: Int64) {
            self.fd = fd
            self.id = id
            self.client = client
            lastActive = now
        }
    }

    /// Listening sockets; a config reload hands over a new set through `pendingListeners`.
    var listeners: [Int32]
    let pendingListeners = Mutex<[Int32]?>(nil)
    let authority: Authority
    let policies: PolicyBox
    let metrics: MetricBlock
    let stop: StopFlag
    let completions = TCPCompletions()
    var nextID: UInt64 = 0
    var connections: [Int32: Connection] = [:]
    var scratch = PipelineScratch()
    /// The answer to the frame being handled (up to 65,535 bytes over TCP).
    var answerBuf = [UInt8](repeating: 0, count: 65535)
    var readBuf = [UInt8](repeating: 0, count: 16384)

    init(listeners: [Int32], authority: Authority, policies: PolicyBox, metrics: MetricBlock, stop: StopFlag) {
        self.listeners = listeners
        self.authority = authority
        self.policies = policies
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
                let wantRead = c.output.count - c.outputOffset < Self.maxPendingOutput
                fds.append(pollfd(fd: c.fd, events: Int16((wantRead ? POLLIN : 0) | (wantWrite ? POLLOUT : 0)), revents: 0))
            }
            let rc = poll(&fds, nfds_t(fds.count), 200)
            let now = monotonicMs()
            if rc > 0 {
                for p in fds where p.revents != 0 {
                    if p.fd == completions.wakeRead {
                        deliverCompletions(now: now)
                    } else if listeners.contains(p.fd) {
                        acceptAll(p.fd, now: now, max: policy.tcpMaxConnections, idleTimeoutMs: policy.tcpIdleTimeoutMs)
                    } else if let c = connections[p.fd] {
                        if p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readFrom(c, now: now) }
                        if let c = connections[p.fd], p.revents & Int16(POLLOUT) != 0 { flush(c, now: now) }
                    }
                }
            }
            for c in Array(connections.values) where now - c.lastActive > policy.tcpIdleTimeoutMs { drop(c) }
        }
    }

    /// Appends finished resolver answers to their connections (if those are still the same connections).
    func deliverCompletions(now: Int64) {
        for item in completions.take() {
            guard let c = connections[item.fd], c.id == item.connection else { continue }
            c.output.append(UInt8(item.bytes.count >> 8 & 0xFF))
            c.output.append(UInt8(item.bytes.count & 0xFF))
            c.output.append(contentsOf: item.bytes)
            flush(c, now: now)
        }
    }

    func acceptAll(_ l: Int32, now: Int64, max maxConnections: Int, idleTimeoutMs: Int64) {
        while true {
            var ss = sockaddr_storage()
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(l, $0, &len) } }
            guard fd >= 0 else { return }
            setNonBlocking(fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            if connections.count >= maxConnections, let idlest = connections.values.min(by: { $0.lastActive < $1.lastActive }),
               now - idlest.lastActive >= min(500, idleTimeoutMs / 2), idlest.outputOffset >= idlest.output.count {
                // Full of connections that say nothing (a slow-loris flood): the longest-silent one makes room,
                // so a client that actually asks still gets in.
                drop(idlest)
                metrics.count(.tcpEvicted)
            }
            guard connections.count < maxConnections else {
                metrics.count(.tcpRefused)
                close(fd)  // over the limit: refuse by closing (RFC 7766 §6.2.2 lets servers do this)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            metrics.count(.tcpAccepted)
            nextID &+= 1
            connections[fd] = Connection(fd: fd, id: nextID, client: withUnsafePointer(to: &ss) { IPBits(UnsafeRawPointer($0)) }, now: now)
        }
    }

    func drop(_ c: Connection) {
        guard connections[c.fd] === c else { return }
        close(c.fd)
        connections[c.fd] = nil
    }

    func readFrom(_ c: Connection, now: Int64) {
        let n = readBuf.withUnsafeMutableBytes { read(c.fd, $0.baseAddress, $0.count) }
        if n == 0 { flushThenClose(c); return }
        if n < 0 {
            if errno != EAGAIN && errno != EINTR { drop(c) }
            return
        }
        c.lastActive = now
        c.input.append(contentsOf: readBuf[0..<n])
        process(c, now: now)
    }

    /// Answers every complete frame buffered, in order, until the output bound is reached. Each frame goes
    /// through the pipeline; an answer from upstream comes back later, possibly out of order (RFC 7766 §7),
    /// through the completion queue.
    func process(_ c: Connection, now: Int64) {
        let pipeline = Pipeline(catalog: authority.snapshot(), policy: policies.snapshot(), metrics: metrics)
        var start = 0
        while c.input.count - start >= 2 {
            if c.output.count - c.outputOffset >= Self.maxPendingOutput { break }
            let len = Int(c.input[start]) << 8 | Int(c.input[start + 1])
            guard c.input.count - start - 2 >= len else { break }
            let frame = start + 2
            start += 2 + len
            let received = monotonicUs()
            let done = completions
            let item = (fd: c.fd, id: c.id)
            let outcome = c.input.withUnsafeBytes { input in
                answerBuf.withUnsafeMutableBytes { out in
                    pipeline.handle(Request(bytes: UnsafeRawBufferPointer(rebasing: input[frame..<(frame + len)]), client: c.client, transport: .tcp, receivedUs: received),
                                    scratch: &scratch, into: out.baseAddress!, capacity: out.count,
                                    responder: { TCPResponder(queue: done, fd: item.fd, connection: item.id) })
                }
            }
            if case .reply(let size, _) = outcome {
                c.output.append(UInt8(size >> 8))
                c.output.append(UInt8(size & 0xFF))
                c.output.append(contentsOf: answerBuf[0..<size])
            }
        }
        if start > 0 { c.input.removeFirst(start) }
        flush(c, now: now)
    }

    func flush(_ c: Connection, now: Int64) {
        while c.outputOffset < c.output.count {
            let n = c.output.withUnsafeBytes { send(c.fd, $0.baseAddress! + c.outputOffset, c.output.count - c.outputOffset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { return }
                drop(c)
                return
            }
            c.outputOffset += n
            c.lastActive = now
        }
        c.output.removeAll(keepingCapacity: true)
        c.outputOffset = 0
        // Frames held back by the output bound can go now.
        if connections[c.fd] === c, c.input.count >= 2, c.input.count - 2 >= Int(c.input[0]) << 8 | Int(c.input[1]) {
            process(c, now: now)
        }
    }

    func flushThenClose(_ c: Connection) {
        flush(c, now: monotonicMs())
        drop(c)
    }
}

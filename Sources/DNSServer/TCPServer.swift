#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import DNSZone

/// DNS over TCP (RFC 7766) on one thread with poll(2): pipelined queries answered in order, an idle timeout,
/// a connection limit, and bounded buffers so a client that never reads cannot grow our memory.
final class TCPServer {
    static let maxPendingOutput = 256 * 1024

    final class Connection {
        let fd: Int32
        var input: [UInt8] = []
        var output: [UInt8] = []
        var outputOffset = 0
        var lastActive: Int64
        init(fd: Int32, now: Int64) {
            self.fd = fd
            lastActive = now
        }
    }

    let listeners: [Int32]
    let engine: QueryEngine
    let authority: Authority
    let stop: StopFlag
    let maxConnections: Int
    let idleTimeoutMs: Int64
    var connections: [Int32: Connection] = [:]
    var writer = WireWriter(capacity: 65535)
    var readBuf = [UInt8](repeating: 0, count: 16384)

    init(listeners: [Int32], engine: QueryEngine, authority: Authority, stop: StopFlag, maxConnections: Int, idleTimeoutMs: Int) {
        self.listeners = listeners
        self.engine = engine
        self.authority = authority
        self.stop = stop
        self.maxConnections = maxConnections
        self.idleTimeoutMs = Int64(idleTimeoutMs)
    }

    deinit {
        for c in connections.values { close(c.fd) }
        for l in listeners { close(l) }
    }

    func run() {
        var fds: [pollfd] = []
        while !stop.isSet {
            fds.removeAll(keepingCapacity: true)
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
                    if listeners.contains(p.fd) {
                        acceptAll(p.fd, now: now)
                    } else if let c = connections[p.fd] {
                        if p.revents & Int16(POLLIN | POLLHUP | POLLERR) != 0 { readFrom(c, now: now) }
                        if let c = connections[p.fd], p.revents & Int16(POLLOUT) != 0 { flush(c, now: now) }
                    }
                }
            }
            for c in Array(connections.values) where now - c.lastActive > idleTimeoutMs { drop(c) }
        }
    }

    func acceptAll(_ l: Int32, now: Int64) {
        while true {
            let fd = accept(l, nil, nil)
            guard fd >= 0 else { return }
            setNonBlocking(fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            guard connections.count < maxConnections else {
                close(fd)  // over the limit: refuse by closing (RFC 7766 §6.2.2 lets servers do this)
                continue
            }
            var one: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            connections[fd] = Connection(fd: fd, now: now)
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

    /// Answers every complete frame buffered, in order, until the output bound is reached.
    func process(_ c: Connection, now: Int64) {
        let catalog = authority.snapshot()
        var start = 0
        while c.input.count - start >= 2 {
            if c.output.count - c.outputOffset >= Self.maxPendingOutput { break }
            let len = Int(c.input[start]) << 8 | Int(c.input[start + 1])
            guard c.input.count - start - 2 >= len else { break }
            let query = Array(c.input[(start + 2)..<(start + 2 + len)])
            start += 2 + len
            if engine.respond(to: query, transport: .tcp, catalog: catalog, into: &writer) {
                c.output.append(UInt8(writer.count >> 8))
                c.output.append(UInt8(writer.count & 0xFF))
                c.output.append(contentsOf: writer.bytes)
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

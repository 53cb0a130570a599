#if canImport(Glibc)
import Glibc
#endif
import DNSCache
import DNSWire
import SystemIO

/// The local control channel: a Unix stream socket (mode 0660, so only the service's user and group reach
/// it), one text request line per connection, answered and closed; connections are served concurrently,
/// each within a deadline. Requests:
///   `flush`, `flush NAME`, `show NAME`, `stats`, `explain NAME [TYPE]`.
final class ControlServer {
    let fd: Int32
    let path: String
    let policies: PolicyBox
    let authority: Authority
    let stop: StopFlag

    init(path: String, policies: PolicyBox, authority: Authority, stop: StopFlag, deadlineMs: Int64 = 1000,
         maxConnections: Int = 32) throws(SocketError) {
        self.path = path
        self.deadlineMs = deadlineMs
        self.maxConnections = maxConnections
        self.policies = policies
        self.authority = authority
        self.stop = stop
        unlink(path)
        let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw SocketError(call: "socket", errno: errno, address: path, unixPath: true) }
        guard var addr = unixAddress(Array(path.utf8)) else {
            close(s)
            throw SocketError(call: "bind", errno: ENAMETOOLONG, address: path, unixPath: true)
        }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0, chmod(path, 0o660) == 0, listen(s, 8) == 0 else {
            let e = errno
            close(s)
            throw SocketError(call: "bind", errno: e, address: path, unixPath: true)
        }
        fd = s
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// How long a connection may take to send its request and read the reply; a silent one is closed then.
    let deadlineMs: Int64
    /// Connections served at once; one more is told the server is busy and closed.
    let maxConnections: Int
    static let maxRequest = 1024

    /// One connection in progress: the request read so far, then the reply still to write.
    struct Connection {
        let fd: Int32
        let deadline: Int64
        var request: [UInt8] = []
        var reply: [UInt8]? = nil
        var written = 0
    }

    /// Serves every connection at once from one poll loop: a client that connects and says nothing (or
    /// never reads) holds only its own slot, until its deadline.
    func run() {
        var conns: [Connection] = []
        while !stop.isSet {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            for c in conns { fds.append(pollfd(fd: c.fd, events: Int16(c.reply == nil ? POLLIN : POLLOUT), revents: 0)) }
            _ = poll(&fds, nfds_t(fds.count), 200)  // wakes to check the stop flag and deadlines
            let now = monotonicMs()
            var next: [Connection] = []
            for (i, var c) in conns.enumerated() {
                if fds[i + 1].revents != 0, c.reply == nil { readRequest(&c) }
                if let reply = c.reply { writeReply(&c, reply) }
                if c.reply.map({ c.written >= $0.count }) == true || now >= c.deadline {
                    close(c.fd)
                } else {
                    next.append(c)
                }
            }
            conns = next
            if fds[0].revents & Int16(POLLIN) != 0 {
                let c = accept(fd, nil, nil)
                if c >= 0 {
                    _ = fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK)
                    _ = fcntl(c, F_SETFD, FD_CLOEXEC)
                    if conns.count >= maxConnections {
                        _ = "error: busy, try again\n".withCString { send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
                        close(c)
                    } else {
                        conns.append(Connection(fd: c, deadline: now + deadlineMs))
                    }
                }
            }
        }
        for c in conns { close(c.fd) }
    }

    /// Reads what has arrived; a newline, a full buffer or the end of input completes the request.
    func readRequest(_ c: inout Connection) {
        var buf = [UInt8](repeating: 0, count: Self.maxRequest)
        let n = read(c.fd, &buf, Self.maxRequest - c.request.count)
        if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
        if n > 0 { c.request += buf[0..<n] }
        if n <= 0 || c.request.contains(UInt8(ascii: "\n")) || c.request.count >= Self.maxRequest {
            // A read error before any request: nothing to answer, so the empty reply closes it as done.
            c.reply = n < 0 && c.request.isEmpty ? [] : Array(handle(String(decoding: c.request, as: UTF8.self)).utf8)
        }
    }

    func writeReply(_ c: inout Connection, _ reply: [UInt8]) {
        while c.written < reply.count {
            let n = reply[c.written...].withUnsafeBytes { send(c.fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { c.written += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { return }
            c.written = reply.count  // the client went away: nothing more to do
        }
    }

    func handle(_ request: String) -> String {
        let words = request.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\r" }).map(String.init)
        guard let verb = words.first else { return "error: empty request\n" }
        if verb == "explain" {
            guard words.count >= 2, let n = try? DNSName(words[1].hasSuffix(".") ? words[1] : words[1] + ".") else { return "error: explain needs a name\n" }
            let t = words.count > 2 ? RRType(text: words[2].uppercased()) : .a
            guard let t else { return "error: unknown type '\(words[2])'\n" }
            return explainText(n, t, catalog: authority.snapshot(), policy: policies.snapshot())
        }
        if verb == "refresh" {
            guard words.count >= 2, let n = try? DNSName(words[1].hasSuffix(".") ? words[1] : words[1] + ".") else { return "error: refresh needs a zone name\n" }
            guard policies.snapshot().secondaries?.refreshNow(n) == true else {
                return "error: \(n) is not a secondary zone of this server (no [zone.\"\(n)\"] primaries in its config)\n"
            }
            return "ok: \(n): checking its primaries now; 'dnsctl zone list' shows the result\n"
        }
        guard let resolver = policies.snapshot().resolver else { return "error: no resolver is configured, so there is no cache\n" }
        func name(_ i: Int) -> DNSName? {
            guard words.count > i else { return nil }
            let t = words[i]
            return try? DNSName(t.hasSuffix(".") ? t : t + ".")
        }
        switch verb {
        case "flush":
            if words.count > 1 {
                guard let n = name(1) else { return "error: bad name '\(words[1])'\n" }
                return "ok: flushed \(resolver.flushCache(n)) entries for \(n)\n"
            }
            return "ok: flushed \(resolver.flushCache(nil)) entries\n"
        case "show":
            guard let n = name(1) else { return "error: show needs a name\n" }
            let lines = resolver.cacheLines(for: n)
            if lines.isEmpty { return "ok: nothing cached for \(n)\n" }
            return "ok: \(lines.count) entries for \(n)\n" + lines.map { $0 + "\n" }.joined()
        case "stats":
            let c = resolver.cacheStats, f = resolver.forwarderStats
            return "ok: cache entries=\(c.entries) bytes=\(c.bytes) hits=\(c.hits) misses=\(c.misses) evictions=\(c.evictions) stale=\(c.staleServed)\n"
                + "forwarder received=\(f.received) coalesced=\(f.coalesced) upstream=\(f.sentUpstream) answered=\(f.answered) failed=\(f.failed) overloaded=\(f.overloaded)\n"
                + resolver.upstreamReport()
        default:
            return "error: unknown request '\(verb)' (flush [NAME], show NAME, stats, explain NAME [TYPE], refresh ZONE)\n"
        }
    }
}

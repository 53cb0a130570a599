#if canImport(Glibc)
import Glibc
#endif
import DNSCache
import DNSWire
import SystemIO

/// The local control channel: a Unix stream socket (mode 0660, so only the service's user and group reach
/// it), one text request per connection, answered and closed. Requests:
///   `flush`, `flush NAME`, `show NAME`, `stats`, `explain NAME [TYPE]`.
final class ControlServer {
    let fd: Int32
    let path: String
    let policies: PolicyBox
    let authority: Authority
    let stop: StopFlag

    init(path: String, policies: PolicyBox, authority: Authority, stop: StopFlag) throws(SocketError) {
        self.path = path
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
        _ = jamSetRecvTimeout(s, ms: 500)
        fd = s
    }

    deinit {
        close(fd)
        unlink(path)
    }

    func run() {
        while !stop.isSet {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { continue }  // timeout: check the stop flag
            _ = jamSetRecvTimeout(c, ms: 2000)
            var buf = [UInt8](repeating: 0, count: 1024)
            let n = read(c, &buf, buf.count)
            let request = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
            let reply = handle(request)
            _ = reply.withCString { write(c, $0, strlen($0)) }
            close(c)
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
            return "error: unknown request '\(verb)' (flush [NAME], show NAME, stats, explain NAME [TYPE])\n"
        }
    }
}

import CSys

func jamSetRecvTimeout(_ fd: Int32, ms: Int32) -> Int32 { jam_set_recv_timeout_ms(fd, ms) }

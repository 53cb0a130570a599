#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// A minimal HTTP/1.1 server for `/metrics` and `/healthz`: GET only, one request per connection, bounded
/// request size and time. It is meant for a loopback address (the scraper), never for the internet; a
/// non-loopback address is refused unless the caller allows it.
public final class HTTPEndpoint: @unchecked Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: String
        public init(status: Int, contentType: String = "text/plain; charset=utf-8", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public struct BindError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    let fd: Int32
    public let port: UInt16
    let handler: @Sendable (String) -> Response
    private var thread: pthread_t?
    private let stopPipe: (Int32, Int32)

    /// Binds `host:port` (IPv4 or IPv6 literal; port 0 = any free port, see `port`) and serves on a thread.
    public init(host: String, port: UInt16, handler: @escaping @Sendable (String) -> Response) throws(BindError) {
        self.handler = handler
        var v6 = in6_addr()
        var v4 = in_addr()
        let isV6 = inet_pton(AF_INET6, host, &v6) == 1
        guard isV6 || inet_pton(AF_INET, host, &v4) == 1 else { throw BindError(description: "metrics address '\(host)' is not an IP address") }
        let s = socket(isV6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw BindError(description: "metrics socket: \(String(cString: strerror(errno)))") }
        _ = fcntl(s, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var rc: Int32
        if isV6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            a.sin6_port = port.bigEndian
            a.sin6_addr = v6
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = port.bigEndian
            a.sin_addr = v4
            rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard rc == 0, listen(s, 16) == 0 else {
            let e = errno
            close(s)
            let hint = e == EADDRINUSE ? " (another program listens there; pick another metrics port)" : ""
            throw BindError(description: "metrics listener \(isV6 ? "[\(host)]" : host):\(port): \(String(cString: strerror(e)))\(hint)")
        }
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        self.port = withUnsafeBytes(of: ss) { UInt16($0[2]) << 8 | UInt16($0[3]) }
        fd = s
        var p: [Int32] = [0, 0]
        pipe(&p)
        stopPipe = (p[0], p[1])
    }

    /// Starts serving on its own thread.
    public func start() {
        let me = UncheckedBox(self)
        thread = trySpawnThread { me.value.serve() }
    }

    /// Stops the thread and closes the socket.
    public func stop() {
        _ = write(stopPipe.1, "x", 1)
        if let t = thread { pthread_join(t, nil) }
        thread = nil
        close(fd)
        close(stopPipe.0)
        close(stopPipe.1)
    }

    func serve() {
        while true {
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: stopPipe.0, events: Int16(POLLIN), revents: 0)]
            guard poll(&fds, 2, -1) >= 0 else { continue }
            if fds[1].revents != 0 { return }
            if fds[0].revents != 0 {
                let c = accept(fd, nil, nil)
                if c >= 0 { handle(c) }
            }
        }
    }

    /// Reads one request head (at most 8 KiB, within 2 s), answers, closes.
    func handle(_ c: Int32) {
        defer { close(c) }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var head: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192 {
            let n = read(c, &buf, buf.count)
            if n <= 0 { return }
            head += buf[0..<n]
            if Self.endOfHead(head) { break }
        }
        let response = Self.route(head, handler)
        let reason = [200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"][response.status] ?? "Status"
        let body = Array(response.body.utf8)
        let text = "HTTP/1.1 \(response.status) \(reason)\r\nContent-Type: \(response.contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let out = Array(text.utf8) + body
        var sent = 0
        while sent < out.count {
            let n = out.withUnsafeBytes { send(c, $0.baseAddress! + sent, out.count - sent, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    static func endOfHead(_ b: [UInt8]) -> Bool {
        guard b.count >= 4 else { return false }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return true }
        return false
    }

    /// Parses the request line; anything but `GET /path HTTP/1.x` is answered with 400/405.
    static func route(_ head: [UInt8], _ handler: (String) -> Response) -> Response {
        guard endOfHead(head) else { return Response(status: 400, body: "incomplete or oversized request\n") }
        let line = head.prefix { $0 != 13 }
        let parts = line.split(separator: 32)
        guard parts.count == 3, parts[2].starts(with: Array("HTTP/1.".utf8)) else { return Response(status: 400, body: "bad request line\n") }
        guard parts[0].elementsEqual("GET".utf8) else {
            return Response(status: 405, body: "only GET\n")
        }
        var path = String(decoding: parts[1], as: UTF8.self)
        if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
        return handler(path)
    }
}

/// The endpoint handed to its own thread, which alone serves from it after `start`.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

#if canImport(Glibc)
import Glibc
#endif

/// Why a system call failed, with the path or socket it was about (errno's text included).
public struct SystemError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var errno: Int32
    public init(_ message: String, errno: Int32) {
        self.message = message
        self.errno = errno
    }
    public var description: String { message }
}

/// Whole-file reads with a size cap, for configs, hosts files, zone files and state files: one loop
/// instead of one per target, and no file grows our memory past the cap.
public enum FileReader {
    public static let configCap = 1 << 20
    public static let zoneCap = 256 << 20

    public static func bytes(_ path: String, cap: Int) throws(SystemError) -> [UInt8] {
        guard let f = fopen(path, "rb") else { throw SystemError("cannot read \(path): \(String(cString: strerror(errno)))", errno: errno) }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n > 0 { out.append(contentsOf: buf[0..<n]) }
            guard out.count <= cap else { throw SystemError("\(path) is larger than \(cap >> 20) MiB", errno: EFBIG) }
            if n < buf.count { break }
        }
        return out
    }

    public static func text(_ path: String, cap: Int = configCap) throws(SystemError) -> String {
        String(decoding: try bytes(path, cap: cap), as: UTF8.self)
    }
}

/// A Unix socket address for `path` (a leading 0 byte: the abstract namespace); nil when it does not fit.
public func unixAddress(_ path: [UInt8]) -> sockaddr_un? {
    var addr = sockaddr_un()
    addr.sun_family = sa_family_t(AF_UNIX)
    guard path.count < MemoryLayout.size(ofValue: addr.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &addr.sun_path) { p in for (i, b) in path.enumerated() { p[i] = b } }
    return addr
}

/// The client side of jamdns's control socket (dnsctl and jamdns-ddns): one request line, one reply, read
/// until the server closes (capped at 1 MiB, 2 s without data ends it). nil when nothing listens at `path`
/// (errno says why); "error: ..." replies are the server's and returned as they are.
public enum ControlClient {
    public static func ask(_ path: String, _ request: String) throws(SystemError) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket: \(String(cString: strerror(errno)))", errno: errno) }
        defer { close(fd) }
        guard var addr = unixAddress(Array(path.utf8)) else { throw SystemError("control socket path too long: \(path)", errno: ENAMETOOLONG) }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard rc == 0 else { return nil }
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        _ = (request + "\n").withCString { write(fd, $0, strlen($0)) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while out.count < 1 << 20 {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A pipe that wakes a thread sleeping in poll(2): another thread calls `wake()`, the sleeper polls `fd` and
/// calls `drain()`. Both ends non-blocking, so neither side ever waits on it.
public final class WakePipe: Sendable {
    public let fd: Int32
    private let writeEnd: Int32

    public init() {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        fd = fds[0]
        writeEnd = fds[1]
        for f in fds where f >= 0 {
            _ = fcntl(f, F_SETFL, fcntl(f, F_GETFL, 0) | O_NONBLOCK)
            _ = fcntl(f, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        close(fd)
        close(writeEnd)
    }

    public func wake() {
        var b: UInt8 = 1
        _ = write(writeEnd, &b, 1)
    }

    /// Empties the pipe (any number of wakes count as one).
    public func drain() {
        var buf = [UInt8](repeating: 0, count: 64)
        while read(fd, &buf, buf.count) > 0 {}
    }

    /// Sleeps until woken or `ms` pass, then drains.
    public func wait(ms: Int32) {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        _ = poll(&p, 1, ms)
        drain()
    }
}

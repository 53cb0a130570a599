#if canImport(Glibc)
import Glibc
#endif
import DNSWire

/// Paths and helpers shared by the integration tests. Everything talks to 127.0.0.1 only.
enum Env {
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()
    static var bin: String {
        if let b = getenv("JAMDNS_BIN_DIR") { return String(cString: b) }
        return root + "/.build/debug"
    }
    static func which(_ tool: String) -> String? {
        for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"] where access(dir + "/" + tool, X_OK) == 0 {
            return dir + "/" + tool
        }
        return nil
    }

    static func tempDir(_ tag: String) -> String {
        var tmpl = Array("/tmp/jamdns-\(tag)-XXXXXX".utf8CString)
        let p = tmpl.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        return String(cString: p!)
    }

    /// A loopback port for a test server, free for UDP and TCP when handed out (see `TestPorts`).
    static func freePort() -> UInt16 { TestPorts.next() }

    static func write(_ path: String, _ text: String) {
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
    }

    static func read(_ path: String) -> String {
        guard let f = fopen(path, "r") else { return "" }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            out += buf[0..<n]
            if n < buf.count { break }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Ports for the servers tests start. A port probed free in the kernel's ephemeral range can be taken by any
/// outgoing connection (a parallel test's client socket) before the server binds it; ports below
/// `ip_local_port_range` are never handed to clients, so only another listener can take one. Each port is
/// handed out once per process and checked free for both UDP and TCP; the walk starts at an offset from the
/// pid so that two suites running at once rarely meet.
enum TestPorts {
    static let lock = NSLockLike()
    nonisolated(unsafe) static var cursor = -1

    /// The range below the ephemeral one (or above it when the low side is too small).
    static let range: ClosedRange<Int> = {
        let text = Env.read("/proc/sys/net/ipv4/ip_local_port_range")
        let bounds = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).compactMap { Int($0) }
        let lo = bounds.count == 2 ? bounds[0] : 32768, hi = bounds.count == 2 ? bounds[1] : 60999
        if lo - 1 - 10_000 >= 2_000 { return 10_000...(lo - 1) }
        if 65_535 - (hi + 1) >= 2_000 { return (hi + 1)...65_535 }
        return 10_000...65_535  // a machine with almost every port ephemeral: best effort
    }()

    static func next() -> UInt16 {
        lock.with {
            let span = range.count
            if cursor < 0 { cursor = Int(getpid()) &* 7919 % span }
            for _ in 0..<span {
                let port = UInt16(range.lowerBound + cursor % span)
                cursor += 1
                if isFree(port) { return port }
            }
            fatalError("no free test port in \(range)")
        }
    }

    /// True when both a UDP and a TCP socket can bind 127.0.0.1:port right now.
    static func isFree(_ port: UInt16) -> Bool {
        for type in [SOCK_DGRAM, SOCK_STREAM] {
            let fd = socket(AF_INET, Int32(type.rawValue), 0)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if rc != 0 { return false }
        }
        return true
    }
}

/// Starts a server on a fresh test port, again on another port (up to 3 tries) when its log says the port
/// was taken between our check and its bind (another listener can still do that).
func startOnFreePort<T>(_ what: String, _ start: (UInt16) throws -> T, log: (UInt16) -> String) throws -> T {
    var last: Error = TestFailure("\(what) did not start")
    for _ in 0..<3 {
        let port = Env.freePort()
        do { return try start(port) } catch {
            last = error
            let text = (log(port) + " \(error)").lowercased()
            guard text.contains("address already in use") || text.contains("cannot bind") || text.contains("eaddrinuse") else { throw error }
        }
    }
    throw last
}

/// A child process, killed when the test is done with it.
final class Child: Sendable {
    let pid: pid_t
    let log: String

    init(_ argv: [String], log: String, env: [String: String] = [:]) throws {
        var fa = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fa)
        defer { posix_spawn_file_actions_destroy(&fa) }
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&fa, 1, 2)
        var environ: [String] = []
        var e = Glibc.environ
        while let p = e.pointee {
            let entry = String(cString: p)
            // A variable given here replaces the inherited one (the first of two is the one a program sees).
            if !env.keys.contains(where: { entry.hasPrefix($0 + "=") }) { environ.append(entry) }
            e += 1
        }
        for (k, v) in env { environ.append("\(k)=\(v)") }
        let cargs = argv.map { strdup($0) } + [nil]
        let cenv = environ.map { strdup($0) } + [nil]
        defer {
            for p in cargs { free(p) }
            for p in cenv { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &fa, nil, cargs, cenv)
        guard rc == 0 else { throw TestFailure("cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
        self.pid = pid
        self.log = log
        Child.register(pid)
    }

    /// Every child still running when the test process exits is killed (servers shared by a suite included).
    nonisolated(unsafe) static var live: Set<pid_t> = []
    nonisolated(unsafe) static var hooked = false
    static let lock = NSLockLike()
    static func register(_ pid: pid_t) {
        lock.with {
            live.insert(pid)
            if !hooked {
                hooked = true
                atexit {
                    for p in Child.live { kill(p, SIGKILL) }
                }
            }
        }
    }

    func signal(_ s: Int32) { kill(pid, s) }

    /// Waits for exit up to `ms`; returns the exit status, or nil if still running.
    func wait(ms: Int) -> Int32? {
        var status: Int32 = 0
        for _ in 0..<(ms / 10) {
            // Exit status, or 128 + signal for a killed child (as a shell reports it).
            if waitpid(pid, &status, WNOHANG) == pid { return status & 0x7F != 0 ? 128 + (status & 0x7F) : (status >> 8) & 0xFF }
            usleep(10_000)
        }
        return nil
    }

    func stop() {
        kill(pid, SIGTERM)
        if wait(ms: 3000) == nil {
            kill(pid, SIGKILL)
            _ = wait(ms: 1000)
        }
    }

    deinit { if kill(pid, 0) == 0 { stop() } }
}

/// A pthread mutex, enough for the child registry.
final class NSLockLike: @unchecked Sendable {
    var m = pthread_mutex_t()
    init() { pthread_mutex_init(&m, nil) }
    func with<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(&m)
        defer { pthread_mutex_unlock(&m) }
        return body()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A DNS client over UDP and TCP on loopback, using our own codec.
enum DNSClient {
    static func udp(_ query: [UInt8], port: UInt16, host: String = "127.0.0.1", timeoutMs: Int = 2000, from source: String? = nil) -> [UInt8]? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        if let source {
            var src = sockaddr_in()
            src.sin_family = sa_family_t(AF_INET)
            src.sin_addr.s_addr = inet_addr(source)
            _ = withUnsafePointer(to: &src) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = inet_addr(host)
        let sent = withUnsafePointer(to: &sin) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard sent == query.count else { return nil }
        var buf = [UInt8](repeating: 0, count: 65535)
        let n = recv(fd, &buf, buf.count, 0)
        guard n > 0 else { return nil }
        return Array(buf[0..<n])
    }

    /// Opens a TCP connection; the caller sends frames and reads answers.
    /// `source`: a loopback address to connect from (127.0.0.0/8 is all local), to look like another client.
    static func connectTCP(port: UInt16, timeoutMs: Int = 3000, from source: String? = nil) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: (timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var src = sockaddr_in()
            src.sin_family = sa_family_t(AF_INET)
            src.sin_addr.s_addr = inet_addr(source)
            let ok = withUnsafePointer(to: &src) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard ok == 0 else {
                close(fd)
                return nil
            }
        }
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = port.bigEndian
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    static func sendFrame(_ fd: Int32, _ msg: [UInt8]) {
        let framed = [UInt8(msg.count >> 8), UInt8(msg.count & 0xFF)] + msg
        _ = framed.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func readExactly(_ fd: Int32, _ n: Int) -> [UInt8]? {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: n)
        while out.count < n {
            let r = recv(fd, &buf, n - out.count, 0)
            guard r > 0 else { return nil }
            out += buf[0..<r]
        }
        return out
    }

    static func readFrame(_ fd: Int32) -> [UInt8]? {
        guard let len = readExactly(fd, 2) else { return nil }
        return readExactly(fd, Int(len[0]) << 8 | Int(len[1]))
    }

    static func tcp(_ query: [UInt8], port: UInt16, from source: String? = nil) -> [UInt8]? {
        guard let fd = connectTCP(port: port, from: source) else { return nil }
        defer { close(fd) }
        sendFrame(fd, query)
        return readFrame(fd)
    }

    static func ask(_ name: String, _ type: RRType, port: UInt16, edns: EDNS? = EDNS(), tcp: Bool = false, rd: Bool = false,
                    id: UInt16 = UInt16.random(in: 0...0xFFFF), from source: String? = nil, timeoutMs: Int = 2000) -> Message? {
        guard let n = try? DNSName(name) else { return nil }
        let q = Message.query(n, type, id: id, recursionDesired: rd, edns: edns).wireBytes()
        guard let r = tcp ? self.tcp(q, port: port, from: source) : udp(q, port: port, timeoutMs: timeoutMs, from: source) else { return nil }
        return try? Message.parse(r)
    }
}

/// A jamdns server on a free loopback port, with a fresh store seeded from the given zone directory.
final class JamdnsServer {
    let port: UInt16
    let dir: String
    let child: Child
    var db: String { dir + "/store.sqlite" }

    /// `prepare`: runs on the store's path before the server starts (keys added with dnsctl, for instance).
    init(zones: String, extraArgs: [String] = [], prepare: ((_ db: String) throws -> Void)? = nil) throws {
        let dir = Env.tempDir("srv")
        self.dir = dir
        try prepare?(dir + "/store.sqlite")
        (port, child) = try startOnFreePort("jamdns", { port in
            let c = try Child(
                [Env.bin + "/jamdns", "--listen", "127.0.0.1:\(port)", "--db", dir + "/store.sqlite", "--zones", zones] + extraArgs,
                log: dir + "/jamdns.log")
            do { try waitUntilServing(port: port, zone: nil) } catch { c.stop(); throw error }
            return (port, c)
        }, log: { _ in Env.read(dir + "/jamdns.log") })
    }

    func dnsctl(_ args: [String]) throws -> (Int32, String) {
        try runTool(Env.bin + "/dnsctl", ["--db", db] + args, dir: dir)
    }
}

/// Waits until something answers a query on `port` (any answer counts).
func waitUntilAnswering(port: UInt16, zone: String?) throws {
    let q = Message.query(try DNSName(zone ?? "jamfox.dev."), .soa, id: 7).wireBytes()
    for _ in 0..<100 {
        if DNSClient.udp(q, port: port, timeoutMs: 100) != nil { return }
        usleep(50_000)
    }
    throw TestFailure("nothing answers on port \(port)")
}

/// Waits for UDP answers, then checks that TCP takes connections too (a server can get one and not the other
/// when another listener holds the port for one protocol).
func waitUntilServing(port: UInt16, zone: String?) throws {
    try waitUntilAnswering(port: port, zone: zone)
    guard let fd = DNSClient.connectTCP(port: port, timeoutMs: 1000) else { throw TestFailure("cannot bind: TCP port \(port) does not accept") }
    close(fd)
}

/// Runs a tool to completion; returns its exit status and combined output.
func runTool(_ path: String, _ args: [String], dir: String, env: [String: String] = [:]) throws -> (Int32, String) {
    let log = dir + "/tool-\(UInt32.random(in: 0...UInt32.max)).out"
    let argv = [path] + args
    let c = try Child(argv, log: log, env: env)
    guard let status = c.wait(ms: 60_000) else { throw TestFailure("\(path) did not finish") }
    return (status, Env.read(log))
}

/// A plain HTTP GET on loopback: (status, body); status 0 when nothing answers.
func httpGet(port: UInt16, _ path: String) -> (Int, String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var tv = timeval(tv_sec: 3, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var sin = sockaddr_in()
    sin.sin_family = sa_family_t(AF_INET)
    sin.sin_port = port.bigEndian
    sin.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { return (0, "") }
    let req = "GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n"
    _ = req.withCString { write(fd, $0, strlen($0)) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    let text = String(decoding: out, as: UTF8.self)
    let parts = text.components("\r\n\r\n")
    let status = Int(parts.first?.split(separator: " ").dropFirst().first ?? "") ?? 0
    return (status, parts.dropFirst().joined(separator: "\r\n\r\n"))
}

/// The value of one Prometheus sample line (`name{labels} value`), or nil.
func metric(_ text: String, _ series: String) -> Double? {
    for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}

/// Resident memory of a process in KiB (VmRSS).
func rssKB(_ pid: pid_t) -> Int {
    for line in Env.read("/proc/\(pid)/status").split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
    return 0
}

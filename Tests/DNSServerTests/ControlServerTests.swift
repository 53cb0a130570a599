#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import SystemIO
import Testing
import TestSupport
@testable import DNSServer

/// The control socket in-process: connections are served at once, each within its deadline, so silent
/// clients cannot hold `dnsctl` up.
@Suite struct ControlServerTests {
    final class Running: @unchecked Sendable {
        let server: ControlServer
        let stop = StopFlag()
        var thread: pthread_t?
        let path: String

        init(deadlineMs: Int64 = 60_000, maxConnections: Int = 32) throws {
            var tmpl = Array("/tmp/jamdns-ctl-XXXXXX".utf8CString)
            let dir = tmpl.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
            path = dir + "/jamdns.ctl"
            let policy = Policy(generation: 1, config: try ServerConfig.parse(""), resolver: nil, queryLog: nil)
            server = try ControlServer(path: path, policies: PolicyBox(policy), authority: Authority(ZoneText.catalog([ZoneText.zone(ZoneText.lab)])),
                                       stop: stop, deadlineMs: deadlineMs, maxConnections: maxConnections)
            let box = UncheckedBox(server)
            thread = spawnThread { box.value.run() }
        }

        deinit {
            stop.set()
            if let t = thread { pthread_join(t, nil) }
        }

        /// A connection that says nothing.
        func silent() -> Int32 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var addr = unixAddress(Array(path.utf8))!
            let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            #expect(rc == 0)
            return fd
        }
    }

    /// What the server has done with a silent connection: closed it (EOF), said something, or nothing yet.
    static func state(_ fd: Int32, waitMs: Int32) -> String {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, waitMs) == 1 else { return "open" }
        var buf = [UInt8](repeating: 0, count: 256)
        let n = read(fd, &buf, buf.count)
        return n == 0 ? "closed" : n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : "error"
    }

    @Test("silent connections do not delay a request: it is answered while they are still open")
    func concurrent() throws {
        let r = try Running()
        let silent = (0..<8).map { _ in r.silent() }
        defer { silent.forEach { close($0) } }
        let reply = try #require(try ControlClient.ask(r.path, "explain nas.lab.test A"))
        #expect(reply.contains("nas.lab.test. A") && reply.contains("192.0.2."), "\(reply)")
        // Served one at a time, the request would have waited for each silent one to time out first.
        for fd in silent { #expect(Self.state(fd, waitMs: 0) == "open") }
    }

    @Test("a silent connection is closed at its deadline; past the connection limit a client is told it is busy")
    func deadlineAndLimit() throws {
        let r = try Running(deadlineMs: 100, maxConnections: 2)
        let a = r.silent(), b = r.silent()
        defer { close(a); close(b) }
        #expect(Self.state(a, waitMs: 10_000) == "closed" && Self.state(b, waitMs: 10_000) == "closed")
        let busy = try Running(maxConnections: 2)
        let held = [busy.silent(), busy.silent()]
        defer { held.forEach { close($0) } }
        // Until the loop has accepted both, a third may take a slot itself: then it is closed and tried again.
        var said = ""
        for _ in 0..<20 where !said.hasPrefix("error: busy") {
            let third = busy.silent()
            said = Self.state(third, waitMs: 1000)
            close(third)
        }
        #expect(said == "error: busy, try again\n")
    }
}

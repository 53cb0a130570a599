import Testing
@testable import Exposition

#if canImport(Glibc)
import Glibc
#endif

@Suite struct HTTPEndpointTests {
    static func request(_ port: UInt16, _ raw: String) -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { return "" }
        _ = raw.withCString { write(fd, $0, strlen($0)) }
        shutdown(fd, Int32(SHUT_WR))
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    @Test("GET is routed by path; other methods, bad request lines and oversized heads are refused")
    func routing() throws {
        let e = try HTTPEndpoint(host: "127.0.0.1", port: 0) { path in
            path == "/metrics" ? .init(status: 200, body: "m 1\n") : .init(status: 404, body: "no\n")
        }
        e.start()
        defer { e.stop() }
        let ok = Self.request(e.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(ok.hasPrefix("HTTP/1.1 200 OK\r\n") && ok.contains("Content-Length: 4\r\n") && ok.hasSuffix("\r\n\r\nm 1\n"))
        #expect(Self.request(e.port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.1 200"))
        #expect(Self.request(e.port, "GET /other HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"))
        #expect(Self.request(e.port, "POST /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 405"))
        #expect(Self.request(e.port, "garbage\r\n\r\n").hasPrefix("HTTP/1.1 400"))
        #expect(Self.request(e.port, "GET /metrics HTTP/1.1\r\nX: " + String(repeating: "a", count: 10_000)).hasPrefix("HTTP/1.1 400"))
        // Still serving after all that.
        #expect(Self.request(e.port, "GET /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 200"))
    }

    @Test("a second endpoint on the same port fails with a message naming it")
    func portInUse() throws {
        let e = try HTTPEndpoint(host: "127.0.0.1", port: 0) { _ in .init(status: 200, body: "") }
        defer { e.stop() }
        #expect(throws: HTTPEndpoint.BindError.self) { _ = try HTTPEndpoint(host: "127.0.0.1", port: e.port) { _ in .init(status: 200, body: "") } }
        do { _ = try HTTPEndpoint(host: "127.0.0.1", port: e.port) { _ in .init(status: 200, body: "") } } catch {
            #expect(error.description.contains("127.0.0.1:\(e.port)") && error.description.contains("another program"))
        }
        #expect(throws: HTTPEndpoint.BindError.self) { _ = try HTTPEndpoint(host: "localhost", port: 0) { _ in .init(status: 200, body: "") } }
    }
}

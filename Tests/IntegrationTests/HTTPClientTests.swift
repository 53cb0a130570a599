import DDNS
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The libcurl client against a local HTTP server (loopback only).
@Suite(.serialized) struct HTTPClientTests {
    /// A Python fixture server from Tests/Fixtures that writes its port to a file. Shared by the suite, so it
    /// lives as long as the slowest run of the suite could (on a busy machine the suite has taken 150 s; with
    /// 120 s the last test found the server gone). It is killed when the test process exits; the bound is for a
    /// test process that is itself killed.
    final class Fake: Sendable {
        let port: Int
        let child: Child
        init(script: String = "fake_http.py", extra: [String] = []) throws {
            let dir = Env.tempDir("http")
            child = try Child(["/usr/bin/env", "python3", Env.root + "/Tests/Fixtures/" + script, "--port-file", dir + "/port", "--seconds", "1800"] + extra,
                              log: dir + "/log")
            var p = 0
            for _ in 0..<100 where p == 0 {
                usleep(50_000)
                p = Int(Env.read(dir + "/port").trimmingWhitespace) ?? 0
            }
            guard p > 0 else { throw TestFailure("fake HTTP server did not start") }
            port = p
        }
        var base: String { "http://127.0.0.1:\(port)" }
    }

    static let fake = Result { try Fake() }

    @Test("GET and PATCH with headers and a JSON body; response status, headers and body")
    func methods() throws {
        let f = try Self.fake.get()
        let c = HTTPClient()
        let get = try c.perform(HTTPRequest(url: f.base + "/echo?x=1", headers: [("Authorization", "Bearer T0KEN")]))
        #expect(get.status == 200 && get.header("X-Test") == "yes" && get.header("content-type") == "application/json")
        #expect(get.text.contains("\"method\": \"GET\"") && get.text.contains("\"authorization\": \"Bearer T0KEN\""))
        let patch = try c.perform(HTTPRequest(method: "PATCH", url: f.base + "/echo", body: Array(#"{"content":"203.0.114.7"}"#.utf8)))
        #expect(patch.text.contains("\"method\": \"PATCH\"") && patch.text.contains("203.0.114.7") && patch.text.contains("application/json"))
    }

    @Test("status codes and Retry-After come through")
    func statuses() throws {
        let f = try Self.fake.get()
        let c = HTTPClient()
        let r = try c.perform(HTTPRequest(url: f.base + "/status/429"))
        #expect(r.status == 429 && r.header("retry-after") == "7")
        #expect(try c.perform(HTTPRequest(url: f.base + "/status/503")).status == 503)
    }

    @Test("timeouts, oversized answers and refused connections are errors that hide the query string")
    func failures() throws {
        let f = try Self.fake.get()
        let c = HTTPClient()
        do {
            _ = try c.perform(HTTPRequest(url: f.base + "/slow?password=hunter2", timeoutMs: 500))
            Issue.record("no timeout")
        } catch {
            #expect(error.isTimeout)
            #expect(!error.description.contains("hunter2"), "\(error)")
        }
        #expect(throws: HTTPError.self) { try c.perform(HTTPRequest(url: f.base + "/big")) }
        #expect(throws: HTTPError.self) { try c.perform(HTTPRequest(url: "http://127.0.0.1:9/x", timeoutMs: 1000)) }
        #expect(throws: HTTPError.self) { try c.perform(HTTPRequest(url: "file:///etc/passwd")) }  // http and https only
    }

    @Test("family pinning: an IPv4 request goes over IPv4 even when the name has IPv6")
    func ipv4Pinned() throws {
        let f = try Self.fake.get()
        let c = HTTPClient()
        let r = try c.perform(HTTPRequest(url: "http://localhost:\(f.port)/echo", family: .v4))
        #expect(r.text.contains("\"client\": \"127.0.0.1\""))
        #expect(redactedURL("https://u:p@h.example/x?password=1") == "https://…@h.example/x?…")
    }
}

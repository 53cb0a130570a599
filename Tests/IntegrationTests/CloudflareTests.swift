import DDNS
import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Cloudflare provider against a strict local fake of API v4 (Tests/Fixtures/fake_cloudflare.py).
@Suite(.serialized) struct CloudflareTests {
    typealias Fake = HTTPClientTests.Fake

    static func provider(_ f: Fake, token: String = "good-token", create: Bool = false) -> CloudflareProvider {
        CloudflareProvider(baseURL: "http://127.0.0.1:\(f.port)/client/v4", token: Secret(token), allowCreate: create)
    }

    static func calls(_ f: Fake) throws -> [(method: String, path: String, body: String)] {
        let r = try HTTPClient().perform(HTTPRequest(url: "http://127.0.0.1:\(f.port)/__state"))
        // Minimal extraction: each call is {"method": ..., "path": ..., ...}.
        var out: [(String, String, String)] = []
        for chunk in r.text.components("{\"method\": \"").dropFirst() {
            let method = String(chunk.prefix { $0 != "\"" })
            var path = chunk.components("\"path\": \"").dropFirst().first.map { String($0.prefix { $0 != "\"" }) } ?? ""
            let query = chunk.components("\"query\": \"").dropFirst().first.map { String($0.prefix { $0 != "\"" }) } ?? ""
            if !query.isEmpty { path += "?" + query }
            let body = chunk.components("\"body\": ").dropFirst().first.map { String($0.prefix { $0 != "}" }) } ?? ""
            out.append((method, path, body))
        }
        return out
    }

    static func control(_ f: Fake, _ json: String) throws {
        _ = try HTTPClient().perform(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(f.port)/__control", body: Array(json.utf8)))
    }

    static let vpn = DDNSName(fqdn: "vpn.jamfox.dev", zone: "jamfox.dev")
    static let wan: WANAddress = .v4(IPv4Address(203, 0, 114, 7))

    @Test("reads what the record holds; an unchanged address makes no write call")
    func unchangedMakesNoWrite() throws {
        let f = try Fake(script: "fake_cloudflare.py")
        let p = Self.provider(f)
        #expect(try p.current(Self.vpn, family: .v4) == "198.51.100.1")
        #expect(try p.current(DDNSName(fqdn: "nope.jamfox.dev", zone: "jamfox.dev"), family: .v4) == nil)
        #expect(try p.update(Self.vpn, to: .v4(IPv4Address(198, 51, 100, 1)), dryRun: false).outcome == .unchanged)
        for _ in 0..<5 { _ = try p.update(Self.vpn, to: .v4(IPv4Address(198, 51, 100, 1)), dryRun: false) }
        let calls = try Self.calls(f)
        #expect(calls.allSatisfy { $0.method == "GET" }, "\(calls)")
        #expect(calls.filter { $0.path.hasPrefix("/client/v4/zones?") }.count == 1, "the zone id is looked up once and cached")
    }

    @Test("a change is one PATCH of the content only: ttl, proxied and comment stay")
    func changeIsOnePatch() throws {
        let f = try Fake(script: "fake_cloudflare.py")
        let p = Self.provider(f)
        #expect(try p.update(Self.vpn, to: Self.wan, dryRun: false).outcome == .updated(from: "198.51.100.1"))
        let writes = try Self.calls(f).filter { $0.method != "GET" }
        #expect(writes.count == 1 && writes[0].method == "PATCH" && writes[0].path == "/client/v4/zones/zone-jamfox/dns_records/rec-vpn")
        #expect(writes[0].body == #"{"content": "203.0.114.7""#, "\(writes[0].body)")
        let state = try HTTPClient().perform(HTTPRequest(url: "http://127.0.0.1:\(f.port)/__state")).text
        #expect(state.contains(#""content": "203.0.114.7", "ttl": 300, "proxied": false, "comment": "home vpn""#), "\(state)")
        #expect(try p.current(Self.vpn, family: .v4) == "203.0.114.7")
    }

    @Test("dry run: says what it would do, writes nothing")
    func dryRun() throws {
        let f = try Fake(script: "fake_cloudflare.py")
        let p = Self.provider(f, create: true)
        #expect(try p.update(Self.vpn, to: Self.wan, dryRun: true).outcome == .wouldUpdate(from: "198.51.100.1"))
        #expect(try p.update(DDNSName(fqdn: "minecraft.jamfox.dev", zone: "jamfox.dev"), to: Self.wan, dryRun: true).outcome == .wouldCreate)
        #expect(try Self.calls(f).allSatisfy { $0.method == "GET" })
    }

    @Test("create when missing only if allowed; apex and wildcard names; a duplicate create is 81058")
    func create() throws {
        let f = try Fake(script: "fake_cloudflare.py")
        let mc = DDNSName(fqdn: "Minecraft.JamFox.dev", zone: "jamfox.dev")
        #expect(throws: DDNSError.self) { try Self.provider(f).update(mc, to: Self.wan, dryRun: false) }
        let p = Self.provider(f, create: true)
        #expect(try p.update(mc, to: Self.wan, dryRun: false).outcome == .created)
        #expect(try p.current(mc, family: .v4) == "203.0.114.7")
        let star = DDNSName(fqdn: "*.jamfox.dev", zone: "jamfox.dev")
        #expect(star.host == "*" && DDNSName(fqdn: "jamfox.dev.", zone: "jamfox.dev").host == "@")
        #expect(try p.update(star, to: Self.wan, dryRun: false).outcome == .created)
        #expect(try p.update(DDNSName(fqdn: "jamfox.dev", zone: "jamfox.dev"), to: Self.wan, dryRun: false).outcome == .updated(from: "198.51.100.1"))
        #expect(try Self.calls(f).filter { $0.method == "DELETE" || $0.method == "PUT" }.isEmpty)
    }

    @Test("auth errors: an unknown token and a token without edit permission say what to fix; the token is never in the message")
    func auth() throws {
        let f = try Fake(script: "fake_cloudflare.py")
        do {
            _ = try Self.provider(f, token: "s3cr3t-unknown").current(Self.vpn, family: .v4)
            Issue.record("accepted an unknown token")
        } catch {
            guard case .auth(let m) = error else { Issue.record("\(error)"); return }
            #expect(m.contains("9109") && m.contains("DNS:Edit") && !m.contains("s3cr3t"))
        }
        let ro = Self.provider(f, token: "readonly-token")
        #expect(try ro.current(Self.vpn, family: .v4) == "198.51.100.1")
        do {
            _ = try ro.update(Self.vpn, to: Self.wan, dryRun: false)
            Issue.record("a read-only token wrote")
        } catch {
            guard case .auth(let m) = error else { Issue.record("\(error)"); return }
            #expect(m.contains("10000") && !m.contains("readonly-token"))
        }
    }

    @Test("429 carries Retry-After; 5xx is transient")
    func rateLimitAndServerErrors() throws {
        let f = try Fake(script: "fake_cloudflare.py")
        let p = Self.provider(f)
        try Self.control(f, #"{"rate_limit": 1, "retry_after": 7}"#)
        #expect(throws: DDNSError.rateLimited(retryAfter: 7)) { try p.current(Self.vpn, family: .v4) }
        try Self.control(f, #"{"fail5xx": 1}"#)
        do {
            _ = try p.current(Self.vpn, family: .v4)
            Issue.record("5xx accepted")
        } catch {
            if case .transient = error {} else { Issue.record("\(error)") }
        }
        #expect(try p.current(Self.vpn, family: .v4) == "198.51.100.1")
    }
}

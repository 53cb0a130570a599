import DDNS
import DNSWire
import Testing

/// The Namecheap provider against a strict local fake of its dynamic DNS endpoint.
@Suite(.serialized) struct NamecheapTests {
    typealias Fake = HTTPClientTests.Fake

    @Test("updates @, * and a label; every write is one GET with the password only in the query")
    func updates() throws {
        let f = try Fake(script: "fake_namecheap.py")
        let p = NamecheapProvider(baseURL: "http://127.0.0.1:\(f.port)", password: Secret("good-password"))
        let ip: WANAddress = .v4(IPv4Address(203, 0, 114, 7))
        for n in ["jamfox.dev", "*.jamfox.dev", "vpn.jamfox.dev"] {
            #expect(try p.update(DDNSName(fqdn: n, zone: "jamfox.dev"), to: ip, dryRun: false).outcome == .updated(from: nil))
        }
        let state = try HTTPClient().perform(HTTPRequest(url: "http://127.0.0.1:\(f.port)/__state")).text
        #expect(state.contains(#""host": "@""#) && state.contains(#""host": "*""#) && state.contains(#""host": "vpn""#), "\(state)")
        #expect(state.components("203.0.114.7").count == 4)
    }

    @Test("a wrong password is an auth error naming what to fix, never the password; IPv6 is refused")
    func errors() throws {
        let f = try Fake(script: "fake_namecheap.py")
        let bad = NamecheapProvider(baseURL: "http://127.0.0.1:\(f.port)", password: Secret("hunter2-wrong"))
        do {
            _ = try bad.update(DDNSName(fqdn: "vpn.jamfox.dev", zone: "jamfox.dev"), to: .v4(IPv4Address(203, 0, 114, 7)), dryRun: false)
            Issue.record("accepted")
        } catch {
            guard case .auth(let m) = error else { Issue.record("\(error)"); return }
            #expect(m.contains("Passwords do not match") && m.contains("Dynamic DNS password") && !m.contains("hunter2"))
        }
        let unknown = NamecheapProvider(baseURL: "http://127.0.0.1:\(f.port)", password: Secret("good-password"))
        #expect(throws: DDNSError.self) { try unknown.update(DDNSName(fqdn: "x.other.dev", zone: "other.dev"), to: .v4(IPv4Address(203, 0, 114, 7)), dryRun: false) }
        #expect(throws: DDNSError.self) { try unknown.update(DDNSName(fqdn: "vpn.jamfox.dev", zone: "jamfox.dev"), to: .v6(IPv6Address("2a01::1")!), dryRun: false) }
        #expect(try unknown.update(DDNSName(fqdn: "vpn.jamfox.dev", zone: "jamfox.dev"), to: .v4(IPv4Address(203, 0, 114, 7)), dryRun: true).outcome == .wouldUpdate(from: nil))
    }
}

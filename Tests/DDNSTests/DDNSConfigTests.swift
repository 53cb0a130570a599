import Testing
@testable import DDNS

#if canImport(Glibc)
import Glibc
#endif

@Suite struct DDNSConfigTests {
    /// The lab's ddclient setup: daemon=303, protocol=cloudflare, use=web (the trace), zone and names.
    static let lab = """
        [ddns]
        interval_seconds = 303
        jitter_seconds = 20
        state_file = "/var/lib/jamdns/ddns-state.json"
        ipv6 = true
        detect_v4 = ["cloudflare-trace", "echo https://api.ipify.org", "dns whoami.cloudflare", "dns myip.opendns.com 208.67.220.220"]
        detect_v6 = ["interface eth0", "cloudflare-trace https://[2606:4700:4700::1111]/cdn-cgi/trace"]

        [cloudflare]
        token_credential = "cloudflare-token"
        zone = "jamfox.dev"
        names = ["vpn", "valheim", "minecraft", "@", "*"]
        create = true
        """

    @Test func labConfig() throws {
        let c = try DDNSConfig.parse(Self.lab)
        #expect(c.intervalSeconds == 303 && c.jitterSeconds == 20 && c.ipv4 && c.ipv6)
        #expect(c.detectV4 == [.cloudflareTrace(url: "https://cloudflare.com/cdn-cgi/trace"), .echo(url: "https://api.ipify.org"),
                               .dns(service: .whoamiCloudflare, server: nil), .dns(service: .myipOpenDNS, server: "208.67.220.220")])
        #expect(c.detectV6.first == .interface(name: "eth0"))
        let p = try #require(c.providers.first)
        #expect(p.kind == .cloudflare && p.secret == .credential("cloudflare-token") && p.create)
        #expect(p.ddnsNames.map(\.fqdn) == ["vpn.jamfox.dev", "valheim.jamfox.dev", "minecraft.jamfox.dev", "jamfox.dev", "*.jamfox.dev"])
        #expect(p.ddnsNames.map(\.host) == ["vpn", "valheim", "minecraft", "@", "*"])
    }

    static let bad: [(String, String)] = [
        ("[cloudflare]\ntoken = \"abc\"\nzone = \"x.dev\"\nnames = [\"a\"]\n", "config:2: unknown key 'token' in [cloudflare] (keys there: api,"),
        ("[cloudflare]\nzone = \"x.dev\"\nnames = [\"a\"]\n", "config: [cloudflare] needs exactly one of token_file"),
        ("[cloudflare]\ntoken_env = \"T\"\ntoken_file = \"/f\"\nzone = \"x.dev\"\nnames = [\"a\"]\n", "config: [cloudflare] needs exactly one of"),
        ("[cloudflare]\ntoken_env = \"T\"\nnames = [\"a\"]\n", "config: [cloudflare] needs zone"),
        ("[cloudflare]\ntoken_env = \"T\"\nzone = \"x.dev\"\nnames = [\"a\"]\nttl = 30\n", "config:5: 'cloudflare.ttl' must be 1 (automatic) or 60-86400"),
        ("[ddns]\ndetect_v4 = [\"dns whoami.example\"]\n[cloudflare]\ntoken_env = \"T\"\nzone = \"x.dev\"\nnames = [\"a\"]\n", "config:2: bad detection method"),
        ("[ddns]\ndetect_v4 = [\"carrier-pigeon\"]\n[cloudflare]\ntoken_env = \"T\"\nzone = \"x.dev\"\nnames = [\"a\"]\n", "config:2: bad detection method"),
        ("[ddns]\ninterval_seconds = 5\n[cloudflare]\ntoken_env = \"T\"\nzone = \"x.dev\"\nnames = [\"a\"]\n", "config:2: 'ddns.interval_seconds' must be an integer in 30...86400"),
        ("[ddns]\nipv4 = false\n[namecheap]\npassword_env = \"P\"\nzone = \"x.dev\"\nnames = [\"@\"]\n", "config: ipv4 and ipv6 are both off"),
        ("[namecheap]\npassword_env = \"P\"\nzone = \"x.dev\"\nnames = [\"@\"]\nproxied = true\n", "config: [namecheap] takes no create/ttl/proxied/comment"),
        ("[ddns]\n", "config: no [cloudflare] or [namecheap] section"),
    ]

    @Test("config errors name the line and what to do", arguments: 0..<bad.count)
    func errors(index: Int) {
        let (text, expected) = Self.bad[index]
        do {
            _ = try DDNSConfig.parse(text)
            Issue.record("accepted")
        } catch {
            #expect(error.message.hasPrefix(expected), "\(error.message)")
        }
    }

    struct NotFound: Error {}

    @Test("secrets: environment, file, systemd credential; empty or multi-line refused; the value never printed")
    func secrets() throws {
        let files = ["/etc/jamdns/cf.token": "T0KEN-FROM-FILE\n", "/run/credentials/jamdns-ddns.service/cloudflare-token": "T0KEN-CRED"]
        func read(_ p: String) throws -> String {
            guard let v = files[p] else { throw NotFound() }
            return v
        }
        let env = ["CF_TOKEN": "T0KEN-ENV", "CREDENTIALS_DIRECTORY": "/run/credentials/jamdns-ddns.service", "EMPTY": " "]
        #expect(try loadSecret(.environment("CF_TOKEN"), environment: env, readFile: read).value == "T0KEN-ENV")
        #expect(try loadSecret(.file("/etc/jamdns/cf.token"), environment: env, readFile: read).value == "T0KEN-FROM-FILE")
        #expect(try loadSecret(.credential("cloudflare-token"), environment: env, readFile: read).value == "T0KEN-CRED")
        #expect(throws: DDNSConfigError.self) { try loadSecret(.environment("MISSING"), environment: env, readFile: read) }
        #expect(throws: DDNSConfigError.self) { try loadSecret(.environment("EMPTY"), environment: env, readFile: read) }
        #expect(throws: DDNSConfigError.self) { try loadSecret(.credential("x"), environment: [:], readFile: read) }
        let s = try loadSecret(.environment("CF_TOKEN"), environment: env, readFile: read)
        #expect("\(s)" == "<secret>" && String(reflecting: s) == "<secret>")
    }

    @Test("state survives a save and a load; a missing or corrupt file is an empty state")
    func state() throws {
        var tmpl = Array("/tmp/jamdns-ddnsstate-XXXXXX".utf8CString)
        let dir = String(cString: tmpl.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }!)
        let path = dir + "/state.json"
        #expect(DDNSState.load(path) == DDNSState())
        var s = DDNSState()
        var e = DDNSState.Entry()
        e.value = "203.0.114.7"
        e.pushedAt = 1_795_000_000
        s.entries[DDNSState.key(provider: "cloudflare", name: DDNSName(fqdn: "vpn.jamfox.dev", zone: "jamfox.dev"), family: .v4)] = e
        try s.save(path)
        #expect(DDNSState.load(path) == s)
        let f = fopen(path, "w")!
        fputs("{not json", f)
        fclose(f)
        #expect(DDNSState.load(path) == DDNSState())
    }
}

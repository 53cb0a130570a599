import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The lab's automation writing to jamdns by UPDATE with TSIG, each with its own key and rule: ISC Kea's
/// DHCP-DDNS (names for DHCP leases, RFC 4703 conflict resolution), certbot's dns-rfc2136 plugin against a
/// local ACME server (Debian's pebble), and Ansible's community.general.nsupdate.
@Suite(.serialized) struct AutomationInteropTests {
    /// Test keys (not real secrets anywhere).
    static let keaSecret = "a2VhIHRlc3Qga2V5IG9mIGphbWRucyBpcyAzMiBieXRlcyE="
    static let certbotSecret = "Y2VydGJvdCB0ZXN0IGtleSBvZiBqYW1kbnMgMzIgYnl0ZQ=="
    static let ansibleSecret = "YW5zaWJsZSB0ZXN0IGtleSBvZiBqYW1kbnMgMzIgYnl0ZQ=="
    static let reverse = "10.168.192.in-addr.arpa."

    static let config = """
        [store]
        poll_interval_ms = 100
        [zone."jamfox.dev."]
        update = ["key kea subdomain dhcp.jamfox.dev. A AAAA DHCID", "key certbot pattern _acme-challenge.*.jamfox.dev. TXT",
                  "key ansible subdomain vms.jamfox.dev. A AAAA CNAME TXT", "key ansible-md5 subdomain vms.jamfox.dev. A"]
        [zone."10.168.192.in-addr.arpa."]
        update = ["key kea zone PTR DHCID"]
        """

    /// jamdns with the lab zone, a reverse zone, and the three keys.
    static func startJamdns() throws -> (JamdnsServer, String) {
        let dir = Env.tempDir("automation")
        Env.write(dir + "/jamdns.toml", config)
        let s = try JamdnsServer(zones: Env.root + "/zones", extraArgs: ["--config", dir + "/jamdns.toml"]) { db in
            for (name, secret, algorithm) in [("kea", keaSecret, "hmac-sha256"), ("certbot", certbotSecret, "hmac-sha256"),
                                              ("ansible", ansibleSecret, "hmac-sha256"), ("ansible-md5", ansibleSecret, "hmac-md5")] {
                Env.write(dir + "/\(name).secret", secret + "\n")
                let (st, out) = try runTool(Env.bin + "/dnsctl", ["--db", db, "tsig", "add", name, "--algorithm", algorithm,
                                                                  "--secret-file", dir + "/\(name).secret"], dir: dir)
                guard st == 0 else { throw TestFailure(out) }
            }
        }
        // The reverse zone: made by dnsctl while the server runs, as a user would.
        let (st, out) = try s.dnsctl(["zone", "add", reverse, "--ns", "rpi0.jamfox.dev."])
        guard st == 0 else { throw TestFailure(out) }
        guard TransferInteropTests.waitFor(10, { DNSClient.ask(reverse, .soa, port: s.port)?.rcode == .noError }) != nil else {
            throw TestFailure("the reverse zone was not served")
        }
        return (s, dir)
    }

    static func answers(_ name: String, _ type: RRType, port: UInt16) -> [RData] {
        (DNSClient.ask(name, type, port: port)?.answers ?? []).filter { $0.type == type }.map(\.rdata)
    }

    @Test("Kea DHCP-DDNS: a lease adds A, PTR and DHCID with RFC 4703's prerequisites; a second client claiming the name is refused by the DHCID check; the release removes all three")
    func kea() throws {
        let d2 = try #require(Env.which("kea-dhcp-ddns"), "kea-dhcp-ddns is not installed: run scripts/test")
        let (s, dir) = try Self.startJamdns()
        defer { s.child.stop() }
        let (port, child) = try startOnFreePort("kea-dhcp-ddns", { port in
            Env.write(dir + "/d2.json", """
                {"DhcpDdns": {
                  "ip-address": "127.0.0.1", "port": \(port), "dns-server-timeout": 2000, "ncr-protocol": "UDP", "ncr-format": "JSON",
                  "tsig-keys": [{"name": "kea", "algorithm": "HMAC-SHA256", "secret": "\(Self.keaSecret)"}],
                  "forward-ddns": {"ddns-domains": [{"name": "jamfox.dev.", "key-name": "kea", "dns-servers": [{"ip-address": "127.0.0.1", "port": \(s.port)}]}]},
                  "reverse-ddns": {"ddns-domains": [{"name": "\(Self.reverse)", "key-name": "kea", "dns-servers": [{"ip-address": "127.0.0.1", "port": \(s.port)}]}]},
                  "loggers": [{"name": "kea-dhcp-ddns", "output_options": [{"output": "stdout"}], "severity": "INFO"}]
                }}
                """)
            let c = try Child([d2, "-c", dir + "/d2.json"], log: dir + "/d2.log", env: ["KEA_PIDFILE_DIR": dir, "KEA_LOCKFILE_DIR": "none"])
            guard TransferInteropTests.waitFor(10, { Env.read(dir + "/d2.log").contains("DHCP_DDNS_STARTED") || c.wait(ms: 10) != nil }) != nil,
                  Env.read(dir + "/d2.log").contains("DHCP_DDNS_STARTED") else {
                c.stop()
                throw TestFailure("kea-dhcp-ddns did not start: \(Env.read(dir + "/d2.log"))")
            }
            return (port, c)
        }, log: { _ in Env.read(dir + "/d2.log") })
        defer { child.stop() }
        /// What kea-dhcp4 sends D2 for a lease: a NameChangeRequest, JSON after a two-byte length.
        func ncr(add: Bool, ip: String, dhcid: String) throws {
            let json = """
                {"change-type": \(add ? 0 : 1), "forward-change": true, "reverse-change": true, "fqdn": "laptop.dhcp.jamfox.dev.", \
                "ip-address": "\(ip)", "dhcid": "\(dhcid)", "lease-expires-on": "20991231120000", "lease-length": 3600, "use-conflict-resolution": true}
                """
            let bytes = Array(json.utf8)
            _ = DNSClient.udp([UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes, port: port, timeoutMs: 10)
        }
        let name = "laptop.dhcp.jamfox.dev."
        try ncr(add: true, ip: "192.168.10.50", dhcid: "000102030405060708090A0B0C0D0E0F")
        #expect(TransferInteropTests.waitFor(10) {
            Self.answers(name, .a, port: s.port) == [.a(IPv4Address(192, 168, 10, 50))]
                && Self.answers("50." + Self.reverse, .ptr, port: s.port) == [.ptr(try! DNSName(name))]
                && Self.answers(name, .dhcid, port: s.port).count == 1
        } != nil, "\(Env.read(dir + "/d2.log"))\n\(Env.read(s.dir + "/jamdns.log"))")
        // D2 logs its verdict after our answer, which may come after the records are served: wait for it.
        #expect(TransferInteropTests.waitFor(10) { Env.read(dir + "/d2.log").contains("DHCP_DDNS_ADD_SUCCEEDED") } != nil)
        // Another client (another DHCID) asks for the same name: D2's prerequisites fail here, so it gives up.
        try ncr(add: true, ip: "192.168.10.51", dhcid: "FFFF02030405060708090A0B0C0D0E0F")
        #expect(TransferInteropTests.waitFor(10) { Env.read(dir + "/d2.log").contains("DHCP_DDNS_FORWARD_REPLACE_REJECTED") } != nil,
                "\(Env.read(dir + "/d2.log"))")
        #expect(Self.answers(name, .a, port: s.port) == [.a(IPv4Address(192, 168, 10, 50))], "the first client keeps its name")
        // The release: A, then DHCID, then the PTR go.
        try ncr(add: false, ip: "192.168.10.50", dhcid: "000102030405060708090A0B0C0D0E0F")
        #expect(TransferInteropTests.waitFor(10) {
            Self.answers(name, .dhcid, port: s.port).isEmpty && Self.answers("50." + Self.reverse, .ptr, port: s.port).isEmpty
                && !Self.answers(name, .a, port: s.port).contains(.a(IPv4Address(192, 168, 10, 50)))
        } != nil, "\(Env.read(dir + "/d2.log"))")
        #expect(TransferInteropTests.waitFor(10) { Env.read(dir + "/d2.log").contains("DHCP_DDNS_REMOVE_SUCCEEDED") } != nil)
        let log = Env.read(s.dir + "/jamdns.log")
        #expect(log.contains("UPDATE applied") && log.contains("by=key kea.") && log.contains("DHCID is not exactly"), "\(log)")
        #expect(!log.contains(Self.keaSecret))
    }

    /// The Python tools (certbot and its plugin, Ansible with community.general), in the venv scripts/deps makes.
    static func pythonTool(_ name: String) throws -> String {
        let path = Env.root + "/.build/pyenv/bin/" + name
        guard access(path, X_OK) == 0 else { throw TestFailure("\(path) is missing: run scripts/test, which installs it (scripts/deps --test)") }
        return path
    }

    @Test("certbot with dns-rfc2136 against a local ACME server (pebble) that asks jamdns: a certificate is issued for a name of the zone, the challenge TXT added and then removed")
    func certbot() throws {
        let certbot = try Self.pythonTool("certbot")
        let pebble = try #require(Env.which("pebble"), "pebble is not installed: run scripts/test")
        let openssl = try #require(Env.which("openssl"))
        let (s, dir) = try Self.startJamdns()
        defer { s.child.stop() }
        // Pebble's TLS certificate, from a CA made here; certbot trusts the CA through REQUESTS_CA_BUNDLE.
        for args in [
            ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/ca.key", "-out", dir + "/ca.pem", "-days", "3650", "-subj", "/CN=test CA"],
            ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/pebble.key", "-out", dir + "/pebble.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", dir + "/pebble.csr", "-CA", dir + "/ca.pem", "-CAkey", dir + "/ca.key", "-CAcreateserial", "-days", "3650",
             "-out", dir + "/pebble.pem", "-extfile", dir + "/san.ext"],
        ] {
            Env.write(dir + "/san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
            let (st, out) = try runTool(openssl, args, dir: dir)
            #expect(st == 0, "\(out)")
        }
        let (acmePort, child) = try startOnFreePort("pebble", { port in
            let management = Env.freePort()
            Env.write(dir + "/pebble.json", """
                {"pebble": {"listenAddress": "127.0.0.1:\(port)", "managementListenAddress": "127.0.0.1:\(management)",
                  "certificate": "\(dir)/pebble.pem", "privateKey": "\(dir)/pebble.key", "httpPort": 5002, "tlsPort": 5001,
                  "ocspResponderURL": "", "externalAccountBindingRequired": false}}
                """)
            let c = try Child([pebble, "-config", dir + "/pebble.json", "-dnsserver", "127.0.0.1:\(s.port)"], log: dir + "/pebble.log",
                              env: ["PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"])
            guard TransferInteropTests.waitFor(10, { Env.read(dir + "/pebble.log").contains("Listening on") || c.wait(ms: 10) != nil }) != nil,
                  Env.read(dir + "/pebble.log").contains("Listening on") else {
                c.stop()
                throw TestFailure("pebble did not start: \(Env.read(dir + "/pebble.log"))")
            }
            return (port, c)
        }, log: { _ in Env.read(dir + "/pebble.log") })
        defer { child.stop() }
        Env.write(dir + "/rfc2136.ini", """
            dns_rfc2136_server = 127.0.0.1
            dns_rfc2136_port = \(s.port)
            dns_rfc2136_name = certbot
            dns_rfc2136_secret = \(Self.certbotSecret)
            dns_rfc2136_algorithm = HMAC-SHA256

            """)
        chmod(dir + "/rfc2136.ini", 0o600)
        let (rc, log) = try runTool(certbot, [
            "certonly", "--non-interactive", "--agree-tos", "-m", "admin@jamfox.dev", "--no-eff-email",
            "--server", "https://127.0.0.1:\(acmePort)/dir", "--authenticator", "dns-rfc2136",
            "--dns-rfc2136-credentials", dir + "/rfc2136.ini", "--dns-rfc2136-propagation-seconds", "1",
            "-d", "grafana.jamfox.dev", "--config-dir", dir + "/le", "--work-dir", dir + "/le-work", "--logs-dir", dir + "/le-logs",
        ], dir: dir, env: ["REQUESTS_CA_BUNDLE": dir + "/ca.pem"])
        #expect(rc == 0, "\(log)\n\(Env.read(dir + "/pebble.log"))\n\(Env.read(s.dir + "/jamdns.log"))")
        #expect(access(dir + "/le/live/grafana.jamfox.dev/fullchain.pem", R_OK) == 0, "no certificate: \(log)")
        let jam = Env.read(s.dir + "/jamdns.log").split(separator: "\n").filter { $0.contains("UPDATE applied") && $0.contains("by=key certbot.") }
        #expect(jam.count >= 2 && jam.contains { $0.contains("added=1") } && jam.contains { $0.contains("removed=1") }, "\(jam)")
        #expect(Self.answers("_acme-challenge.grafana.jamfox.dev.", .txt, port: s.port).isEmpty, "the challenge is removed")
        #expect(!Env.read(s.dir + "/jamdns.log").contains(Self.certbotSecret))
    }

    @Test("Ansible community.general.nsupdate: present then absent, with the module's default algorithm (hmac-md5) and with hmac-sha256; a second run changes nothing")
    func ansible() throws {
        let playbook = try Self.pythonTool("ansible-playbook")
        let python = try Self.pythonTool("python")
        let (s, dir) = try Self.startJamdns()
        defer { s.child.stop() }
        func play(_ state: String, key: String, algorithm: String?) throws -> String {
            Env.write(dir + "/play.yml", """
                - hosts: localhost
                  gather_facts: false
                  tasks:
                    - community.general.nsupdate:
                        key_name: \(key)
                        key_secret: "\(Self.ansibleSecret)"
                \(algorithm.map { "        key_algorithm: \($0)\n" } ?? "")        server: 127.0.0.1
                        port: \(s.port)
                        zone: jamfox.dev.
                        record: web-\(key).vms
                        type: A
                        value: 10.3.0.1
                        ttl: 300
                        state: \(state)

                """)
            let (rc, out) = try runTool(playbook, ["-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=\(python)", dir + "/play.yml"], dir: dir,
                                        env: ["ANSIBLE_HOME": dir + "/ansible", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": dir + "/ansible-tmp"])
            #expect(rc == 0, "\(out)\n\(Env.read(s.dir + "/jamdns.log"))")
            return out
        }
        for (key, algorithm) in [("ansible-md5", nil as String?), ("ansible", "hmac-sha256")] {
            let name = "web-\(key).vms.jamfox.dev."
            #expect(try play("present", key: key, algorithm: algorithm).contains("changed=1"))
            #expect(Self.answers(name, .a, port: s.port) == [.a(IPv4Address(10, 3, 0, 1))])
            #expect(try play("present", key: key, algorithm: algorithm).contains("changed=0"), "idempotent")
            #expect(try play("absent", key: key, algorithm: algorithm).contains("changed=1"))
            #expect(Self.answers(name, .a, port: s.port) != [.a(IPv4Address(10, 3, 0, 1))])
        }
        let log = Env.read(s.dir + "/jamdns.log")
        #expect(log.contains("by=key ansible-md5.") && log.contains("by=key ansible."), "\(log)")
        #expect(!log.contains(Self.ansibleSecret))
    }
}

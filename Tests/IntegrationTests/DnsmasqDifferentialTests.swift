import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The drop-in test: the lab's real dnsmasq config (Tests/Fixtures/dnsmasq-lab, copied from shared/jamlab) run
/// by Debian's dnsmasq, and the same config imported with `dnsctl import dnsmasq` and served by jamdns, both in
/// front of the same stand-ins: Knot as "the internet" (two upstreams) and Knot as Consul (three servers, also
/// answering the rev-server= reverse zone). Every name of the list is asked of both; the answers must match,
/// apart from the differences listed in `expectedDifferences` (and in the README, with the reasons).
@Suite(.serialized) struct DnsmasqDifferentialTests {
    static let fixtures = Env.root + "/Tests/Fixtures/dnsmasq-lab"

    /// One lab: the stand-ins, dnsmasq and jamdns on the same rendered config.
    final class Lab {
        let dir: String
        let internet: KnotServer
        let consul: KnotServer
        let dnsmasq: Child
        let dnsmasqPort: UInt16
        let jamdns: Child
        let jamdnsPort: UInt16
        let importOutput: String
        /// With `secondary`: a second jamdns that takes every zone from the first through a catalog zone
        /// (with the same resolver and forward config), and its port.
        var secondary: Child?
        var secondaryPort: UInt16?

        init(config: String, secondary withSecondary: Bool = false) throws {
            guard let dnsmasqBin = Env.which("dnsmasq") else { throw TestFailure("dnsmasq is not installed: run scripts/test, which installs it") }
            let dir = Env.tempDir("dmdiff")
            self.dir = dir
            let f = DnsmasqDifferentialTests.fixtures
            internet = try KnotServer(zones: [("jamfox.dev.", f + "/public.jamfox.dev.zone"), ("public.test.", f + "/public.test.zone"),
                                             ("216.184.93.in-addr.arpa.", f + "/216.184.93.in-addr.arpa.zone")], listeners: 2)
            consul = try KnotServer(zones: [("consul.", f + "/consul.zone"), ("168.192.in-addr.arpa.", f + "/168.192.in-addr.arpa.zone")], listeners: 3)
            // The shared configs point at 127.0.0.1#5430-5434: 5431 and 5434 are the internet, the rest Consul.
            let ports: [String: UInt16] = ["5431": internet.ports[0], "5434": internet.ports[1],
                                           "5430": consul.ports[0], "5432": consul.ports[1], "5433": consul.ports[2]]
            Env.write(dir + "/hosts.jamfox.dev", Env.read(f + "/hosts.jamfox.dev"))
            let rendered = try startOnFreePort("dnsmasq", { (port: UInt16) -> (UInt16, Child, String) in
                var text = Env.read(f + "/" + config).replacing("@DIR@", with: dir).replacing("@PORT@", with: "\(port)")
                for (old, new) in ports { text = text.replacing("127.0.0.1#\(old)", with: "127.0.0.1#\(new)") }
                // A host-record with both families: AAAA of a local name and a v6 PTR.
                text += "\nhost-record=nas1.jamfox.dev,192.168.10.67,fd00:10::67\n"
                Env.write(dir + "/dnsmasq.conf", text)
                var argv = [dnsmasqBin, "-k", "-C", dir + "/dnsmasq.conf", "--pid-file=", "--log-facility=-"]
                if getuid() == 0 { argv.append("--user=root") }
                let c = try Child(argv, log: dir + "/dnsmasq-\(port).log")
                do { try waitUntilServing(port: port, zone: "jamfox.dev.") } catch { c.stop(); throw error }
                return (port, c, text)
            }, log: { port in Env.read(dir + "/dnsmasq-\(port).log") })
            (dnsmasqPort, dnsmasq) = (rendered.0, rendered.1)
            // The migration, as a user runs it.
            let (rc, out) = try runTool(Env.bin + "/dnsctl", ["import", "dnsmasq", dir + "/dnsmasq.conf", "--db", dir + "/s.sqlite", "--config-out", dir + "/jamdns.toml"], dir: dir)
            guard rc == 0 else { throw TestFailure("import failed: \(out)") }
            importOutput = out
            let catalog = "catalog.lab.internal."
            let imported = Env.read(dir + "/jamdns.toml")
            if withSecondary {
                Env.write(dir + "/jamdns.toml", imported + "\n[catalog]\npublish = \"\(catalog)\"\n[zone.\"\(catalog)\"]\nallow_transfer = [\"127.0.0.0/8\"]\n")
            }
            (jamdnsPort, jamdns) = try startOnFreePort("jamdns", { port in
                let c = try Child([Env.bin + "/jamdns", "--config", dir + "/jamdns.toml", "--listen", "127.0.0.1:\(port)", "--db", dir + "/s.sqlite"], log: dir + "/jamdns.log")
                do { try waitUntilServing(port: port, zone: "jamfox.dev.") } catch { c.stop(); throw error }
                return (port, c)
            }, log: { _ in Env.read(dir + "/jamdns.log") })
            guard withSecondary else { return }
            // The second server: the imported config (its resolver and forward zones are its own way out) plus
            // the catalog to consume; no zone is named.
            let primaryPort = jamdnsPort
            Env.write(dir + "/secondary.toml", imported + "\n[store]\npoll_interval_ms = 100\n[zone.\"\(catalog)\"]\nprimaries = [\"127.0.0.1:\(primaryPort)\"]\ncatalog = true\n")
            let empty = Env.tempDir("no-zones")
            let (p2, c2) = try startOnFreePort("jamdns secondary", { port in
                let c = try Child([Env.bin + "/jamdns", "--config", dir + "/secondary.toml", "--listen", "127.0.0.1:\(port)", "--db", dir + "/s2.sqlite", "--zones", empty],
                                  log: dir + "/secondary.log")
                do { try waitUntilAnswering(port: port, zone: "jamfox.dev.") } catch { c.stop(); throw error }
                return (port, c)
            }, log: { _ in Env.read(dir + "/secondary.log") })
            secondary = c2
            secondaryPort = p2
            // Every zone of the first at its serial on the second.
            let (_, list) = try runTool(Env.bin + "/dnsctl", ["zone", "list", "--json", "--db", dir + "/s.sqlite"], dir: dir)
            let names = list.components(separatedBy: "\"name\":\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
            guard !names.isEmpty else { throw TestFailure("no zones listed: \(list)") }
            for z in names {
                let want = DNSClient.ask(z, .soa, port: primaryPort)?.answers.first?.rdata
                var ok = false
                for _ in 0..<300 where !ok {
                    ok = DNSClient.ask(z, .soa, port: p2, timeoutMs: 300)?.answers.first?.rdata == want
                    if !ok { usleep(50_000) }
                }
                guard ok else { throw TestFailure("the secondary never had \(z): \(Env.read(dir + "/secondary.log"))") }
            }
        }

        func stop() {
            secondary?.stop()
        }
    }

    /// An answer reduced to what a client sees: RCODE, AA where the answer is jamdns's own, and the sections
    /// as sets (TTLs compared apart, with a little slack for cached data counting down between the two asks).
    struct Seen: CustomStringConvertible {
        var rcode: RCode
        var aa: Bool
        var sections: [[String]]
        var ttls: [[UInt32]]

        init(_ m: Message) {
            rcode = m.rcode
            aa = m.header.aa
            let secs = [m.answers, m.authority, m.additional.filter { $0.type != .opt }]
            let sorted = secs.map { rrs in
                rrs.map { (key: "\($0.name.lowercased) \($0.type) \($0.rdata.presentation)", ttl: $0.ttl) }.sorted { $0.key < $1.key }
            }
            sections = sorted.map { $0.map(\.key) }
            ttls = sorted.map { $0.map(\.ttl) }
        }

        var description: String {
            "\(rcode)\(aa ? " aa" : "") " + zip(["an", "ns", "ar"], sections).map { "\($0)=\($1)" }.joined(separator: " ")
        }

        /// Same answer. AA counts only when jamdns answered from its zones: on forwarded answers dnsmasq copies
        /// the upstream's AA bit and jamdns clears it (README).
        func matches(_ jam: Seen) -> Bool {
            guard rcode == jam.rcode, sections == jam.sections else { return false }
            if jam.aa && !aa { return false }
            for (a, b) in zip(ttls, jam.ttls) {
                for (x, y) in zip(a, b) where x == 0 || y == 0 ? x != y : (Int(x) - Int(y)).magnitude > 5 { return false }
            }
            return true
        }
    }

    /// The names of the issue: nodes, hosts-file services, the wildcard, names only the public DNS has, the
    /// exceptions, AAAA/MX of local names, Consul services, reverse lookups, single-label and public names.
    static let questions: [(String, RRType)] = [
        ("portainer.jamfox.dev.", .a), ("head.jamfox.dev.", .a), ("rpi0.jamfox.dev.", .a), ("rpi1.jamfox.dev.", .a),
        ("pve0.jamfox.dev.", .a), ("nas0.jamfox.dev.", .a), ("vb0.jamfox.dev.", .a), ("vs0.jamfox.dev.", .a),
        ("x.portainer.jamfox.dev.", .a), ("deep.x.nas0.jamfox.dev.", .a),
        ("octoprint.jamfox.dev.", .a), ("grafana.jamfox.dev.", .a), ("sd.jamfox.dev.", .a), ("comfy.jamfox.dev.", .a), ("PHOTO.jamfox.dev.", .a),
        ("minecraft.jamfox.dev.", .a), ("nosuch.jamfox.dev.", .a), ("a.b.nosuch.jamfox.dev.", .a), ("nosuch.jamfox.dev.", .aaaa),
        ("docs.jamfox.dev.", .a), ("x.docs.jamfox.dev.", .a), ("brain.jamfox.dev.", .a), ("valheim.jamfox.dev.", .a), ("valheim.jamfox.dev.", .aaaa),
        ("vpn.jamfox.dev.", .a), ("vpn.jamfox.dev.", .aaaa), ("vpn.jamfox.dev.", .mx),
        ("portainer.jamfox.dev.", .aaaa), ("octoprint.jamfox.dev.", .aaaa), ("portainer.jamfox.dev.", .mx), ("octoprint.jamfox.dev.", .txt),
        ("nas1.jamfox.dev.", .a), ("nas1.jamfox.dev.", .aaaa),
        ("jamfox.dev.", .a), ("jamfox.dev.", .aaaa), ("jamfox.dev.", .mx), ("jamfox.dev.", .txt), ("jamfox.dev.", .soa), ("jamfox.dev.", .ns),
        ("web.service.consul.", .srv), ("web.service.consul.", .a), ("nomad.service.consul.", .a), ("nomad.service.consul.", .srv),
        ("nope.service.consul.", .a), ("vb0.node.dc1.consul.", .a), ("consul.", .soa),
        ("80.10.168.192.in-addr.arpa.", .ptr), ("53.10.168.192.in-addr.arpa.", .ptr), ("111.10.168.192.in-addr.arpa.", .ptr),
        ("120.10.168.192.in-addr.arpa.", .ptr), ("130.10.168.192.in-addr.arpa.", .ptr), ("67.10.168.192.in-addr.arpa.", .ptr),
        ("99.10.168.192.in-addr.arpa.", .ptr), ("3.2.1.10.in-addr.arpa.", .ptr), ("1.1.20.172.in-addr.arpa.", .ptr),
        ("7.6.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.d.f.ip6.arpa.", .ptr),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", .ptr),
        ("34.216.184.93.in-addr.arpa.", .ptr), ("1.113.0.203.in-addr.arpa.", .ptr), ("1.1.64.100.in-addr.arpa.", .ptr),
        ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.f.ip6.arpa.", .ptr),
        ("nas.", .a), ("nas.", .aaaa), ("rpi0.", .a), ("nas.", .mx),
        ("www.public.test.", .a), ("www.public.test.", .aaaa), ("multi.public.test.", .a), ("nx.public.test.", .a), ("brain.public.test.", .a),
    ]

    /// Differences that stay, by design (each is in the README's table with its reason). Keyed by "NAME TYPE";
    /// the test fails if one of them stops differing, so the list cannot go stale.
    static let expectedDifferences: [String: String] = [
        "jamfox.dev. SOA": "jamdns serves the zone it imported: its own SOA (needed for its negative answers, zone transfers and serial tracking); dnsmasq forwards it",
        "jamfox.dev. NS": "the same: the zone's own NS",
        "brain.public.test. A": "dnsmasq answers NODATA from its cache: the upstream's answer for brain.jamfox.dev held only the CNAME to brain.public.test, and dnsmasq cached the target as having no address; jamdns asks upstream and gets it",
        "1.1.64.100.in-addr.arpa. PTR": "bogus_priv covers the RFC 6598 shared space (RFC 7793); dnsmasq forwards it",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.f.ip6.arpa. PTR": "bogus_priv covers all of fc00::/7 (RFC 4193); dnsmasq only fd00::/8",
        "nas. MX": "domain_needed keeps every type of a single-label name off the upstreams (NXDOMAIN, EDE 15); dnsmasq holds back only A and AAAA and forwards the rest",
    ]

    func compare(_ lab: Lab, variant: String, port: UInt16? = nil) -> [String] {
        let jamdnsPort = port ?? lab.jamdnsPort
        var unexpected: [String] = []
        var stillDifferent = Set<String>()
        var table: [String] = []
        for (name, type) in Self.questions {
            let key = "\(name) \(type)"
            let d = DNSClient.ask(name, type, port: lab.dnsmasqPort, rd: true, timeoutMs: 3000)
            let j = DNSClient.ask(name, type, port: jamdnsPort, rd: true, timeoutMs: 3000)
            guard let d, let j else {
                unexpected.append("\(variant) \(key): no answer from \(d == nil ? "dnsmasq" : "jamdns")")
                continue
            }
            let ds = Seen(d), js = Seen(j)
            let same = ds.matches(js)
            table.append("\(variant) | \(key) | \(ds) | \(js) | \(same ? "same" : Self.expectedDifferences[key] == nil ? "DIFFERENT" : "listed")")
            if same { continue }
            if Self.expectedDifferences[key] != nil { stillDifferent.insert(key) } else { unexpected.append("\(variant) \(key):\n  dnsmasq \(ds)\n  jamdns  \(js)") }
        }
        for key in Self.expectedDifferences.keys where !stillDifferent.contains(key) {
            unexpected.append("\(variant) \(key) is listed as a difference but both answer the same now: drop it from the list and the README")
        }
        Env.write(lab.dir + "/table.txt", table.joined(separator: "\n") + "\n")
        return unexpected
    }

    @Test("the Consul era (wildcard on, rev-server, three Consul servers): same answers as dnsmasq")
    func consulEra() throws {
        let lab = try Lab(config: "consul-era.conf.in")
        #expect(lab.importOutput.contains("fallthrough types") && lab.importOutput.contains("overlap: vpn.jamfox.dev."), "\(lab.importOutput)")
        let diffs = compare(lab, variant: "consul-era")
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))\n(table in \(lab.dir)/table.txt)")
    }

    @Test("a second jamdns fed by the first through a catalog zone gives dnsmasq's answers too (the Consul era)")
    func throughSecondary() throws {
        let lab = try Lab(config: "consul-era.conf.in", secondary: true)
        defer { lab.stop() }
        let diffs = compare(lab, variant: "consul-era secondary", port: lab.secondaryPort)
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))\n(table in \(lab.dir)/table.txt)")
    }

    @Test("as deployed (no wildcard, no Consul): same answers as dnsmasq")
    func deployed() throws {
        let lab = try Lab(config: "deployed.conf.in")
        let diffs = compare(lab, variant: "deployed")
        #expect(diffs.isEmpty, "\(diffs.joined(separator: "\n"))\n(table in \(lab.dir)/table.txt)")
    }

    @Test("a dead Consul: dnsmasq and jamdns both SERVFAIL, nothing stale is served")
    func deadConsul() throws {
        let lab = try Lab(config: "consul-era.conf.in")
        // Warm both caches, then kill Consul.
        for p in [lab.dnsmasqPort, lab.jamdnsPort] { _ = DNSClient.ask("web.service.consul.", .a, port: p, rd: true) }
        lab.consul.child.stop()
        for p in [lab.dnsmasqPort, lab.jamdnsPort] {
            let m = DNSClient.ask("web.service.consul.", .a, port: p, rd: true, timeoutMs: 6000)
            #expect(m?.rcode == .servFail || m == nil, "port \(p): \(String(describing: m?.rcode)) \(m?.answers.count ?? 0) answers")
            #expect(m?.answers.isEmpty ?? true)
        }
    }
}

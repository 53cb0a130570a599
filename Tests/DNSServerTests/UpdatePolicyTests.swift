import DNSWire
import DNSZone
import Testing
import TestSupport
@testable import DNSServer

/// Who may UPDATE what: the rules' text form, their name and type matching, the config's checks, and the
/// ACL's decisions (unsigned, beyond the rule, too many records, over the rate).
@Suite struct UpdatePolicyTests {
    static let zone = try! DNSName("jamfox.dev.")
    static let config = """
        [resolver]
        allow_recursion = ["192.168.10.0/24", "127.0.0.0/8"]
        [zone."jamfox.dev."]
        update = ["key kea subdomain dhcp.jamfox.dev. A AAAA DHCID", "key certbot pattern _acme-challenge.*.jamfox.dev. TXT",
                  "key host1.jamfox.dev. self", "from 192.168.10.7 name printer.jamfox.dev. A"]
        [update]
        rate = 2
        max_records = 3
        """

    func n(_ s: String) -> DNSName { try! DNSName(s) }
    func rr(_ name: String, _ type: RRType) -> ResourceRecord {
        ResourceRecord(name: n(name), type: type, ttl: 60, rdata: type == .a ? .a(IPv4Address(10, 0, 0, 1)) : .txt(TXT([Array("x".utf8)])))
    }
    func request(_ updates: [ResourceRecord]) -> Update.Request { Update.Request(zone: Self.zone, prerequisites: [], updates: updates) }
    let lan = IPBits(bytes: [192, 168, 10, 9]), printer = IPBits(bytes: [192, 168, 10, 7])

    @Test("rules parse in their text form, and each bad one is an error that says what to write")
    func parsing() throws {
        let c = try ServerConfig.parse(Self.config)
        let rules = try #require(c.zones[Self.zone]?.updateRules)
        #expect(rules.count == 4 && rules[0].key == n("kea.") && rules[0].types == [.a, .aaaa, .dhcid])
        #expect(rules[3].key == nil && rules[3].from?.description == "192.168.10.7/32")
        for (bad, says) in [
            ("subdomain dhcp.jamfox.dev. A", "starts with 'key NAME' or 'from PREFIX'"),
            ("key kea everywhere", "not a kind of names"),
            ("key kea subdomain example.org. A", "outside the zone"),
            ("key kea zone BOGUS", "not a record type"),
            ("from 192.168.10.7 self", "needs 'key NAME'"),
        ] {
            do {
                _ = try ServerConfig.parse("[zone.\"jamfox.dev.\"]\nupdate = [\"\(bad)\"]\n", file: "j.toml")
                Issue.record("\(bad) parsed")
            } catch { #expect(error.description.contains("j.toml:2:") && error.description.contains(says), "\(error)") }
        }
        // Address-only rules never reach past allow_recursion.
        #expect(throws: ConfigError.self) { try ServerConfig.parse("[resolver]\nallow_recursion = [\"192.168.10.0/24\"]\n[zone.\"jamfox.dev.\"]\nupdate = [\"from 0.0.0.0/0 zone A\"]\n") }
        // A secondary passes UPDATEs on only with primaries, and holds no rules of its own.
        #expect(throws: ConfigError.self) { try ServerConfig.parse("[zone.\"jamfox.dev.\"]\nforward_updates = true\n") }
        #expect(throws: ConfigError.self) { try ServerConfig.parse("[zone.\"jamfox.dev.\"]\nprimaries = [\"192.0.2.1\"]\nupdate = [\"key a zone\"]\n") }
    }

    @Test("names: subdomain, pattern (a * label is any run of labels, none included), self; no types means all but SOA, NS and DNSSEC's")
    func matching() throws {
        #expect(UpdateRule.matches(n("_acme-challenge.jamfox.dev."), pattern: n("_acme-challenge.*.jamfox.dev.")))
        #expect(UpdateRule.matches(n("_ACME-challenge.a.b.jamfox.dev."), pattern: n("_acme-challenge.*.jamfox.dev.")))
        #expect(!UpdateRule.matches(n("x._acme-challenge.jamfox.dev."), pattern: n("_acme-challenge.*.jamfox.dev.")))
        #expect(!UpdateRule.matches(n("_acme-challenge.jamfox.org."), pattern: n("_acme-challenge.*.jamfox.dev.")))
        let own = try UpdateRule("key host1.jamfox.dev. self", zone: Self.zone)
        #expect(own.permits(n("host1.jamfox.dev."), .a, key: n("HOST1.jamfox.dev."), client: lan))
        #expect(!own.permits(n("host2.jamfox.dev."), .a, key: n("host1.jamfox.dev."), client: lan))
        #expect(!own.permits(n("host1.jamfox.dev."), .ns, key: n("host1.jamfox.dev."), client: lan), "NS needs naming")
        let sub = try UpdateRule("key kea subdomain dhcp.jamfox.dev. A", zone: Self.zone)
        #expect(sub.permits(n("dhcp.jamfox.dev."), .a, key: n("kea."), client: lan) && sub.permits(n("x.dhcp.jamfox.dev."), .a, key: n("kea."), client: lan))
        #expect(!sub.permits(n("xdhcp.jamfox.dev."), .a, key: n("kea."), client: lan) && !sub.permits(n("x.dhcp.jamfox.dev."), .txt, key: n("kea."), client: lan))
        #expect(!sub.permits(n("x.dhcp.jamfox.dev."), .a, key: n("certbot."), client: lan) && !sub.permits(n("x.dhcp.jamfox.dev."), .a, key: nil, client: lan))
    }

    @Test("the ACL: unsigned refused unless an address rule matches, a record beyond the rule refuses the message, too many records, and the per-key rate")
    func acl() throws {
        let c = try ServerConfig.parse(Self.config)
        let acl = UpdateACL(c.zones, limits: c.updateLimits, lan: c.resolver.allowRecursion)
        let kea = n("kea.")
        #expect(acl.authorize(request([rr("h.dhcp.jamfox.dev.", .a)]), key: kea, client: lan, nowMs: 0) == .allowed(source: "key kea."))
        if case .refused(let why) = acl.authorize(request([rr("h.dhcp.jamfox.dev.", .a)]), key: nil, client: lan, nowMs: 0) {
            #expect(why.contains("TSIG key is required"))
        } else { Issue.record("unsigned was allowed") }
        if case .refused(let why) = acl.authorize(request([rr("h.dhcp.jamfox.dev.", .a), rr("www.jamfox.dev.", .a)]), key: kea, client: lan, nowMs: 0) {
            #expect(why.contains("may not change www.jamfox.dev. A"))
        } else { Issue.record("a record beyond the rule was allowed") }
        let four = (0..<4).map { rr("h\($0).dhcp.jamfox.dev.", .a) }
        if case .refused(let why) = acl.authorize(request(four), key: kea, client: lan, nowMs: 0) { #expect(why.contains("max_records")) } else { Issue.record("4 > 3 records") }
        // The printer's address rule: that address only, that name only.
        #expect(acl.authorize(request([rr("printer.jamfox.dev.", .a)]), key: nil, client: printer, nowMs: 0) == .allowed(source: "address 192.168.10.7"))
        #expect(acl.authorize(request([rr("printer.jamfox.dev.", .a)]), key: nil, client: lan, nowMs: 0) != .allowed(source: "address 192.168.10.9"))
        // rate = 2: a burst of 4 (twice the rate), then refused until the bucket refills.
        let certbot = n("certbot.")
        let acme = request([rr("_acme-challenge.jamfox.dev.", .txt)])
        let burst = (0..<5).map { _ in acl.authorize(acme, key: certbot, client: lan, nowMs: 1000) }
        #expect(burst.filter { $0 == .limited }.count == 1, "\(burst)")
        #expect(acl.authorize(acme, key: certbot, client: lan, nowMs: 1600) == .allowed(source: "key certbot."))
        // Deletes of every RRset are judged by the store through `permits`, per type found.
        let p = acl.permits(zone: Self.zone, key: kea, client: lan)
        #expect(p(n("h.dhcp.jamfox.dev."), .dhcid) && !p(n("h.dhcp.jamfox.dev."), .txt))
    }

    @Test("the pipeline: an UPDATE of a zone not served is NOTAUTH; without an updater REFUSED; malformed FORMERR; the answer echoes the zone section")
    func pipeline() throws {
        let zone = ZoneText.zone("$ORIGIN jamfox.dev.\n@ 3600 SOA ns hostmaster 1 3600 600 86400 300\n@ 3600 NS ns\nns 3600 A 192.0.2.1\n")
        let h = try PipelineHarness(catalog: ZoneText.catalog([zone]), config: Self.config)
        func update(_ zone: String, _ records: [ResourceRecord], zoneType: RRType = .soa) -> Message? {
            var m = Message()
            m.header = Header(id: 41)
            m.header.opcode = .update
            m.questions = [Question(name: n(zone), type: zoneType, qclass: .in)]
            m.authority = records
            return h.ask(m.wireBytes()).answer
        }
        let notAuth = update("example.org.", [rr("x.example.org.", .a)])
        #expect(notAuth?.rcode == .notAuth && notAuth?.header.opcode == .update && notAuth?.questions.first?.name == n("example.org."))
        #expect(update("jamfox.dev.", [rr("x.example.org.", .a)])?.rcode == .notZone)
        #expect(update("jamfox.dev.", [rr("x.jamfox.dev.", .a)], zoneType: .a)?.rcode == .formErr)
        let refused = update("jamfox.dev.", [rr("h.dhcp.jamfox.dev.", .a)])
        #expect(refused?.rcode == .refused && refused?.header.id == 41)
    }
}

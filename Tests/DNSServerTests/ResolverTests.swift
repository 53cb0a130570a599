import DNSForward
import DNSWire
import DNSZone
import Testing
@testable import DNSServer

@Suite struct ResolverPolicyTests {
    static func resolver(_ extra: (inout ResolverConfig) -> Void = { _ in }) throws -> Resolver {
        var c = ResolverConfig()
        c.upstreams = [UpstreamServer("127.0.0.1:9")!]  // discard port: nothing answers
        c.tryTimeoutMs = 50
        c.deadlineMs = 100
        extra(&c)
        return try Resolver(config: c)
    }

    /// `forward` 0: the only forward zone of `resolver()`, ".".
    static func query(_ name: String, _ type: RRType = .a, edns: EDNS? = EDNS(), forward: Int? = 0) -> RecursionQuery {
        RecursionQuery(id: 9, flags: 0x0100, question: Question(name: try! DNSName(name), type: type), edns: edns, maxSize: 1232, forward: forward)
    }

    @Test("our own loop token: SERVFAIL at once, nothing forwarded")
    func loopToken() throws {
        let r = try Self.resolver()
        defer { r.stop() }
        let q = Self.query("www.example.com.", edns: EDNS(options: [EDNSOption(code: Resolver.loopOptionCode, data: r.loopToken)]))
        let answer = try #require(r.resolve(q, client: [127, 0, 0, 1]) { _, _ in Issue.record("should answer at once") }?.0)
        let m = try Message.parse(answer)
        #expect(m.rcode == .servFail && m.header.id == 9 && m.header.ra)
        #expect(r.forwarderStats.received == 0)
    }

    @Test("routing: ACL, forward zones by longest match, domain-needed, bogus-priv, the default")
    func routing() throws {
        let r = try Self.resolver { c in
            c.allowRecursion = [IPPrefix("192.168.10.0/24")!, IPPrefix("127.0.0.1")!]
            c.zones = [
                ForwardZoneConfig(name: try! DNSName("consul."), servers: [UpstreamServer("127.0.0.1:8600")!], cache: false, minTTL: 0, serveStale: false),
                ForwardZoneConfig(name: try! DNSName("dc2.consul."), servers: [UpstreamServer("127.0.0.1:8601")!], cache: false, minTTL: 0, serveStale: false),
                ForwardZoneConfig(name: try! DNSName("10.168.192.in-addr.arpa."), servers: [UpstreamServer("127.0.0.1:8600")!], cache: true, minTTL: 0, serveStale: true),
            ]
        }
        defer { r.stop() }
        let lan: [UInt8] = [192, 168, 10, 5]
        // The forward zone comes from the route table, as on the query path.
        let routes = RouteTable(catalog: Catalog(zones: []), forwardZones: r.zoneNames)
        func route(_ n: String, _ t: RRType = .a, client: [UInt8]) -> Route {
            let name = try! DNSName(n)
            return r.route(Question(name: name, type: t), client: client, forward: routes.forwardZone(for: name))
        }
        #expect(route("www.example.com.", client: [8, 8, 8, 8]) == .refuse(.prohibited, "recursion is not offered to this client"))
        #expect(route("web.service.consul.", client: lan) == .forward(zone: 0))
        #expect(route("web.service.dc2.consul.", client: lan) == .forward(zone: 1))
        #expect(route("www.example.com.", client: lan) == .forward(zone: 3))
        if case .nxDomain = route("nas.", client: lan) {} else { Issue.record("domain-needed") }
        #expect(route("com.", .ns, client: lan) == .forward(zone: 3))
        if case .nxDomain = route("1.0.168.192.in-addr.arpa.", .ptr, client: lan) {} else { Issue.record("bogus-priv") }
        #expect(route("7.10.168.192.in-addr.arpa.", .ptr, client: lan) == .forward(zone: 2))
        #expect(route("8.8.8.8.in-addr.arpa.", .ptr, client: lan) == .forward(zone: 3))
        if case .nxDomain = route("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", .ptr, client: lan) {} else { Issue.record("ULA reverse") }
    }

    @Test("every server dead: SERVFAIL with EDE 22 through the reply callback")
    func allDead() async throws {
        let r = try Self.resolver()
        defer { r.stop() }
        let box = Box()
        #expect(r.resolve(Self.query("www.example.com."), client: [127, 0, 0, 1]) { bytes, _ in box.set(bytes) } == nil)
        var answer: [UInt8]?
        for _ in 0..<200 where answer == nil {
            try await Task.sleep(for: .milliseconds(10))
            answer = box.get()
        }
        let m = try Message.parse(try #require(answer))
        #expect(m.rcode == .servFail && m.edns?.extendedErrors.first?.code == .noReachableAuthority)
    }
}

import Synchronization

final class Box: Sendable {
    let m = Mutex<[UInt8]?>(nil)
    func set(_ v: [UInt8]) { m.withLock { $0 = v } }
    func get() -> [UInt8]? { m.withLock { $0 } }
}

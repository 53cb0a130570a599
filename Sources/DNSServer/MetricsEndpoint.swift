#if canImport(Glibc)
import Glibc
#endif
import DNSForward
import DNSWire
import DNSZone
import Exposition
import SystemIO

extension Server {
    /// `/metrics` (Prometheus text) and `/healthz` (does the server answer a real query on its first listen
    /// address within a second?).
    static func http(_ path: String, metrics: ServerMetrics, authority: Authority, policies: PolicyBox, probe: ListenAddress?) -> HTTPEndpoint.Response {
        switch path {
        case "/metrics":
            return HTTPEndpoint.Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                                         body: exposition(metrics: metrics, authority: authority, policy: policies.snapshot()))
        case "/healthz":
            let catalog = authority.snapshot()
            guard let probe else { return HTTPEndpoint.Response(status: 503, body: "no listen address\n") }
            let zone = catalog.zones.keys.min { $0.description < $1.description } ?? .root
            let start = monotonicUs()
            guard let rcode = askSelf(probe, zone) else {
                return HTTPEndpoint.Response(status: 503, body: "unhealthy: no answer from \(probe) within 1 s\n")
            }
            return HTTPEndpoint.Response(status: 200, body: "ok: \(probe) answered \(zone) SOA (\(rcode)) in \(monotonicUs() - start) us; \(catalog.zones.count) zones, generation \(catalog.generation)\n")
        default:
            return HTTPEndpoint.Response(status: 404, body: "try /metrics or /healthz\n")
        }
    }

    /// Per zone: the serial served and the role; per secondary zone: its refresh and transfer figures.
    static func zoneMetrics(_ p: inout PrometheusText, catalog: Catalog, policy: Policy) {
        let secondaries = policy.secondaries?.configured.map(\.name) ?? []
        p.family("jamdns_zone_serial", .gauge, "SOA serial of each zone served, by role.")
        for (name, zone) in catalog.zones.sorted(by: { $0.key < $1.key }) {
            p.sample("jamdns_zone_serial", [("zone", name.description), ("role", secondaries.contains(name) ? "secondary" : "primary")], Double(zone.soa.serial))
        }
        guard let sec = policy.secondaries, !secondaries.isEmpty else { return }
        let st = sec.statuses(), down = sec.down.snapshot()
        let rows: [(String, PrometheusText.Kind, String, (Secondaries.Status) -> Double)] = [
            ("jamdns_secondary_last_success_seconds", .gauge, "Unix time of the last SOA check or transfer that reached a primary (0: never).", { Double($0.lastSuccess ?? 0) }),
            ("jamdns_secondary_next_refresh_seconds", .gauge, "Unix time of the next SOA check.", { Double($0.nextRefresh) }),
            ("jamdns_secondary_failures", .gauge, "Refresh attempts in a row that reached no usable primary.", { Double($0.failures) }),
            ("jamdns_secondary_refreshes_total", .counter, "SOA checks that reached a primary.", { Double($0.refreshes) }),
            ("jamdns_secondary_transfers_total", .counter, "Transfers (AXFR or IXFR) committed.", { Double($0.transfers) }),
            ("jamdns_secondary_transfer_duration_seconds", .gauge, "Duration of the last transfer committed.", { Double($0.lastTransferMs) / 1000 }),
            ("jamdns_secondary_transfer_bytes", .gauge, "Bytes of the last transfer committed.", { Double($0.lastTransferBytes) }),
        ]
        for (name, kind, help, value) in rows {
            p.family(name, kind, help)
            for z in secondaries.sorted() { p.sample(name, [("zone", z.description)], value(st[z] ?? .init())) }
        }
        p.family("jamdns_secondary_available", .gauge, "1 when the secondary zone has a current copy; 0 before its first transfer or after expire (SERVFAIL).")
        for z in secondaries.sorted() { p.sample("jamdns_secondary_available", [("zone", z.description)], down.contains(z) ? 0.0 : 1.0) }
    }

    static func exposition(metrics: ServerMetrics, authority: Authority, policy: Policy) -> String {
        var p = PrometheusText()
        metrics.write(into: &p)
        let catalog = authority.snapshot()
        p.family("jamdns_zones", .gauge, "Zones served from the current snapshot.")
        p.sample("jamdns_zones", [], Double(catalog.zones.count))
        p.family("jamdns_zone_generation", .gauge, "Generation of the zone snapshot being served.")
        p.sample("jamdns_zone_generation", [], catalog.generation)
        p.family("jamdns_rate_limit_enabled", .gauge, "1 when response-rate limiting is on for clients outside the exempt ranges.")
        p.sample("jamdns_rate_limit_enabled", [], policy.limiter == nil ? 0.0 : 1.0)
        zoneMetrics(&p, catalog: catalog, policy: policy)
        guard let r = policy.resolver else { return p.text }
        let c = r.cacheStats
        p.family("jamdns_cache_entries", .gauge, "Answers held in the resolver cache.")
        p.sample("jamdns_cache_entries", [], Double(c.entries))
        p.family("jamdns_cache_bytes", .gauge, "Bytes held in the resolver cache (accounted size).")
        p.sample("jamdns_cache_bytes", [], Double(c.bytes))
        for (name, help, v) in [("jamdns_cache_hits_total", "Cache lookups that found a fresh answer.", c.hits),
                                ("jamdns_cache_misses_total", "Cache lookups that found nothing usable.", c.misses),
                                ("jamdns_cache_evictions_total", "Entries evicted to stay within the cache bounds.", c.evictions),
                                ("jamdns_cache_inserts_total", "Answers stored in the cache.", c.inserts),
                                ("jamdns_cache_stale_served_total", "Expired answers served because no upstream answered.", c.staleServed)] {
            p.family(name, .counter, help)
            p.sample(name, [], Double(v))
        }
        let f = r.forwarderStats
        p.family("jamdns_forwarder_queries_total", .counter, "Questions handed to the forwarder, by what happened to them.")
        for (what, v) in [("received", f.received), ("coalesced", f.coalesced), ("sent", f.sentUpstream), ("answered", f.answered),
                          ("failed", f.failed), ("overloaded", f.overloaded), ("probes", f.probes)] {
            p.sample("jamdns_forwarder_queries_total", [("result", what)], Double(v))
        }
        let health = r.upstreamHealth()
        p.family("jamdns_upstream_up", .gauge, "1 while an upstream server answers; 0 while it is down or has never answered.")
        for h in health { p.sample("jamdns_upstream_up", [("zone", h.zone), ("server", h.server)], h.state == .up ? 1.0 : 0.0) }
        p.family("jamdns_upstream_state", .gauge, "1 for the server's state: unknown (not asked yet), up, or down.")
        for h in health {
            for st in [ServerState.unknown, .up, .down] {
                p.sample("jamdns_upstream_state", [("zone", h.zone), ("server", h.server), ("state", st.rawValue)], h.state == st ? 1.0 : 0.0)
            }
        }
        p.family("jamdns_upstream_rtt_seconds", .gauge, "Smoothed round-trip time to an upstream server.")
        for h in health { p.sample("jamdns_upstream_rtt_seconds", [("zone", h.zone), ("server", h.server)], h.rttMs / 1000) }
        p.family("jamdns_upstream_answers_total", .counter, "Answers received from an upstream server.")
        for h in health { p.sample("jamdns_upstream_answers_total", [("zone", h.zone), ("server", h.server)], Double(h.answered)) }
        p.family("jamdns_upstream_failures_total", .counter, "Tries that an upstream server failed (timeout, error, SERVFAIL/REFUSED).")
        for h in health { p.sample("jamdns_upstream_failures_total", [("zone", h.zone), ("server", h.server)], Double(h.failed)) }
        return p.text
    }

    /// Sends `zone SOA` to our own listener and waits up to a second; the RCODE's name, or nil.
    static func askSelf(_ at: ListenAddress, _ zone: DNSName) -> String? {
        var target = at
        if at.host == "0.0.0.0" { target.host = "127.0.0.1" }
        if at.host == "::" { target.host = "::1" }
        let fd = socket(target.family == .v4 ? AF_INET : AF_INET6, datagramSocketType, 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        _ = jamSetRecvTimeout(fd, ms: 1000)
        let id = UInt16.random(in: 0...UInt16.max)
        let q = Message.query(zone, .soa, id: id).wireBytes()
        var (ss, len) = socketAddress(target)
        let sent = withUnsafePointer(to: &ss) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in q.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, len) } }
        }
        guard sent == q.count else { return nil }
        var buf = [UInt8](repeating: 0, count: 4096)
        let deadline = monotonicUs() + 1_000_000
        while monotonicUs() < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            if n < 0 { return nil }
            if n >= 12, buf[0] == UInt8(id >> 8), buf[1] == UInt8(id & 0xFF) {
                return RCode(rawValue: UInt16(buf[3] & 0x0F)).description
            }
        }
        return nil
    }
}

import DNSCache
import DNSForward
import DNSWire

/// What the operator sees of the resolver: the cache (`dnsctl cache`), upstream health (metrics, `explain`).
extension Resolver {
    public func flushCache(_ name: DNSName?) -> Int { cache.withLock { $0.flush(name) } }

    public struct UpstreamState: Sendable {
        public var zone: String
        public var server: String
        public var alive: Bool
        public var suspect: Bool
        /// unknown (never asked or answered yet), up, down: what `jamdns_upstream_up` reports.
        public var state: ServerState
        public var rttMs: Double
        public var answered: Int
        public var failed: Int

        /// "192.168.10.120#8600 up rtt=1ms answered=52 failed=0"
        public var summary: String {
            "\(server) \(state == .up && suspect ? "suspect" : state.rawValue) rtt=\(state == .unknown ? "?" : "\(Int(rttMs))ms") answered=\(answered) failed=\(failed)"
        }
    }

    /// Every upstream server's health: zone ("." for the default upstreams), address, state, latency, counts.
    public func upstreamHealth() -> [UpstreamState] {
        let health = forwarder.health
        let now = Self.nowMs()
        var servers: [[UpstreamServer]] = config.zones.map(\.servers)
        if !config.upstreams.isEmpty { servers.append(config.upstreams) }
        var out: [UpstreamState] = []
        for (z, row) in servers.enumerated() where z < health.count {
            for (i, server) in row.enumerated() where i < health[z].count {
                let h = health[z][i]
                out.append(UpstreamState(zone: zoneNames[z].description, server: server.description, alive: h.isAlive(now: now),
                                         suspect: h.consecutiveFailures > 0, state: h.state(now: now), rttMs: h.rttMs, answered: h.answered, failed: h.failed))
            }
        }
        return out
    }

    /// One line per upstream server: zone, address, alive or dead, latency, answers and failures.
    public func upstreamReport() -> String {
        upstreamHealth().map { "upstream \($0.zone) \($0.summary)\n" }.joined()
    }

    public func cacheEntries(for name: DNSName) -> [(type: RRType, kind: AnswerKind, remaining: Int, dnssecOK: Bool)] {
        let now = Self.nowMs()
        return cache.withLock { $0.entries(for: name, now: now) }
    }

    /// One line per cached answer for `name`: "A positive 42s left", "AAAA noData expired 3s ago (stale) DO".
    public func cacheLines(for name: DNSName) -> [String] {
        cacheEntries(for: name).map { e in
            let state = e.remaining >= 0 ? "\(e.remaining)s left" : "expired \(-e.remaining)s ago (stale)"
            return "\(e.type) \(e.kind) \(state)\(e.dnssecOK ? " DO" : "")"
        }
    }
}

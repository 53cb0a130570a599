import DNSZone
import Synchronization

/// Everything a query consults besides the zones, built from one config: the engine's settings, the resolver
/// (forwarders and their policies), the ACL, the rate limiter and the query log. SIGHUP builds a new one and
/// swaps it in whole; the listeners read it once per batch, so a query sees one config, never a mix.
package final class Policy: Sendable {
    let generation: UInt64
    let engine: QueryEngine
    let resolver: Resolver?
    let allowQuery: PrefixMatcher?
    let limiter: RateLimiter?
    let queryLog: QueryLog?
    let tcpMaxConnections: Int
    let tcpIdleTimeoutMs: Int64
    let tcpFrameTimeoutMs: Int64
    let tcpPrefixShare: Int
    /// The route table of the last catalog asked for: zones, marks and this config's forward zones.
    private let routeCache = Mutex<RouteTable?>(nil)

    package init(generation: UInt64, config: ServerConfig, resolver: Resolver?, queryLog: QueryLog?) {
        self.generation = generation
        engine = QueryEngine(ednsUDPPayload: config.ednsUDPPayload, recursion: resolver != nil)
        self.resolver = resolver
        allowQuery = config.allowQuery.map(PrefixMatcher.init)
        limiter = config.rateLimit.enabled ? RateLimiter(config: config.rateLimit, lanRanges: config.resolver.allowRecursion) : nil
        self.queryLog = queryLog
        tcpMaxConnections = config.tcpMaxConnections
        tcpIdleTimeoutMs = Int64(config.tcpIdleTimeoutMs)
        tcpFrameTimeoutMs = Int64(config.tcpFrameTimeoutMs)
        tcpPrefixShare = config.tcpPrefixShare
    }

    /// The route table for `catalog` under this config's forward zones. Built by the first batch that sees a
    /// new catalog or a new policy (a table of zones, marks and forward zones: no records), then shared.
    func routes(for catalog: Catalog) -> RouteTable {
        routeCache.withLock { cached in
            if let c = cached, c.catalog === catalog { return c }
            let fresh = RouteTable(catalog: catalog, forwardZones: resolver?.zoneNames ?? [])
            cached = fresh
            return fresh
        }
    }

    /// The key the answer memo is valid for: a new zone snapshot or a new policy empties it.
    @inline(__always) func memoGeneration(_ catalogGeneration: UInt64) -> UInt64 { catalogGeneration &+ generation << 40 }
}

/// The policy in effect; replaced on a config reload.
typealias PolicyBox = Current<Policy>

#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import DNSZone
import JamLog
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
    /// Who may transfer which zone ([zone."NAME."] allow_transfer).
    let transfers: TransferACL
    /// [zone."NAME."] tables by zone name: NOTIFY targets and keys.
    let zoneConfigs: [DNSName: ZoneConfig]
    /// [catalog] publish: the catalog zone made from the primary zones.
    let publishCatalog: DNSName?
    /// The secondary zones' refresher (NOTIFY in goes to it), shared across config reloads.
    let secondaries: Secondaries?
    /// Who may UPDATE what ([zone] update, [update]).
    let updates: UpdateACL
    /// The UPDATE writer, shared across config reloads (nil in tests that build a pipeline alone: UPDATEs
    /// are then answered REFUSED).
    let updater: Updater?
    /// Where refused transfers and TSIG failures are logged (nil in tests that build a pipeline alone).
    let logger: Logger?
    /// Log lines of those kinds in the current second: a flood of bad TSIGs is counted, not logged whole.
    private let noted = Mutex<(second: Int, lines: Int)>((0, 0))
    static let notesPerSecond = 10
    /// The route table of the last catalog asked for: zones, marks and this config's forward zones.
    private let routeCache = Mutex<RouteTable?>(nil)

    package init(generation: UInt64, config: ServerConfig, resolver: Resolver?, queryLog: QueryLog?, logger: Logger? = nil, secondaries: Secondaries? = nil,
                 updater: Updater? = nil) {
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
        transfers = TransferACL(config.zones, catalog: config.publishCatalog)
        zoneConfigs = config.zones
        publishCatalog = config.publishCatalog
        self.secondaries = secondaries
        self.logger = logger
        updates = UpdateACL(config.zones, limits: config.updateLimits, lan: config.resolver.allowRecursion)
        self.updater = updater
    }

    /// A zone's [zone] table; with a catalog published, a zone without one takes the catalog's (its allow_transfer,
    /// notify and notify_key), so a zone added here reaches the secondaries with no configuration on either side.
    func zoneConfig(_ zone: DNSName) -> ZoneConfig? {
        if let own = zoneConfigs[zone] { return own }
        guard let cat = publishCatalog, var c = zoneConfigs[cat] else { return nil }
        c.name = zone
        return c
    }

    /// A transfer refused by `allow_transfer`, logged with the client and the key (RFC 5936 §6 asks servers
    /// to make refusals visible), at most `notesPerSecond` lines a second.
    func noteRefusedTransfer(_ t: TransferQuery, client: IPBits, key: DNSName?) {
        guard let logger, mayNote() else { return }
        logger.warning("zone transfer refused by allow_transfer", metadata: [
            "zone": "\(t.zone.origin)", "type": "\(t.question.type)", "client": "\(client.text)",
            "key": "\(key.map { $0.description } ?? "none")",
        ])
    }

    /// A transfer sent whole, as Knot logs its outgoing ones (not rate-limited: only allowed clients get here).
    func noteTransfer(_ s: TransferStream, client: IPBits, ms: Int64) {
        let q = s.plan.query
        logger?.info("zone transfer sent", metadata: [
            "zone": "\(q.zone.origin)", "type": "\(q.question.type)\(s.incremental ? "" : q.clientSerial == nil ? "" : " (whole zone)")",
            "serial": "\(q.zone.soa.serial)", "client": "\(client.text)", "key": "\(s.plan.signer.map { $0.key.name.description } ?? "none")",
            "messages": "\(s.messages)", "records": "\(s.records)", "bytes": "\(s.bytes)", "ms": "\(ms)",
        ])
    }

    /// A NOTIFY refused: from an address that is not a primary of the zone, or without the zone's key.
    func noteRefusedNotify(_ zone: DNSName, client: IPBits, key: DNSName?, why: String) {
        guard let logger, mayNote() else { return }
        logger.warning("NOTIFY refused: \(why)", metadata: ["zone": "\(zone)", "client": "\(client.text)", "key": "\(key.map { $0.description } ?? "none")"])
    }

    /// An UPDATE not applied: refused (who, and why) or a prerequisite that did not hold, at most
    /// `notesPerSecond` lines a second.
    func noteUpdate(_ zone: DNSName, client: IPBits, key: DNSName?, rcode: RCode, why: String) {
        guard let logger, mayNote() else { return }
        let md: Logger.Metadata = ["zone": "\(zone)", "client": "\(client.text)", "key": "\(key.map { $0.description } ?? "none")", "rcode": "\(rcode)"]
        if Update.prerequisiteRCodes.contains(rcode) {
            logger.info("UPDATE not applied, a prerequisite does not hold: \(why)", metadata: md)
        } else {
            logger.warning("UPDATE refused: \(why)", metadata: md)
        }
    }

    /// A TSIG that did not verify: its kind and key name (never a secret or a MAC), rate-limited as above.
    func noteTSIGFailure(_ f: Signing.Failure, client: IPBits) {
        guard let logger, mayNote() else { return }
        let what: String
        switch f {
        case .formErr(let why): what = "malformed TSIG (\(why))"
        case .badKey(let k): what = "unknown key or algorithm \(k) (BADKEY)"
        case .badSig(let k): what = "wrong MAC for key \(k) (BADSIG)"
        case .badTime(let k, let skew): what = "key \(k) signed \(skew) s away from our clock (BADTIME)"
        }
        logger.warning("TSIG check failed: \(what)", metadata: ["client": "\(client.text)"])
    }

    private func mayNote() -> Bool {
        let now = Int(time(nil))
        return noted.withLock { n in
            if n.second != now { n = (now, 0) }
            n.lines += 1
            return n.lines <= Self.notesPerSecond
        }
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

#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import DNSTSIG
import DNSWire
import DNSZone
import Exposition
import JamLog
import Synchronization
import SystemIO

/// The running server: sockets bound, threads started. `reload(_:)` applies a new config in place (SIGHUP);
/// `stop()` asks every thread to finish and joins them.
public final class Server {
    public private(set) var config: ServerConfig
    public let authority: Authority
    /// The TSIG keys in force (the store's), replaced by the store watcher when they change.
    let keys: KeyBox
    public let metrics = ServerMetrics()
    let policies: PolicyBox
    /// The secondary zones' refresher, the IXFR journal reader and the NOTIFY sender: each gets its thread
    /// only once the config asks for what it does (a server with no [zone] tables runs none of them).
    let secondaries: Secondaries
    let journal: JournalReader
    let notifier: Notifier
    /// The UPDATE writer (RFC 2136): its thread starts once some zone has update rules or forward_updates.
    let updater: Updater
    var started: Set<String> = []
    let stopFlag = StopFlag()
    let reloadRequested = ReloadFlag()
    let logger: Logger
    let tcp: TCPServer
    /// The TCP, control and watcher threads.
    var threads: [pthread_t] = []
    /// Per listen address: its TCP socket and its UDP workers, which a reload can stop on their own.
    var groups: [ListenAddress: ListenerGroup] = [:]
    var metricsEndpoint: HTTPEndpoint?
    /// The address /healthz asks: the first bound listen address, updated by reloads.
    let probe = Current<ListenAddress?>(nil)
    var policyGeneration: UInt64 = 1
    /// The control socket this server created (removed on stop).
    var controlSocket: String?
    let workerCount: Int

    /// What the zone thread reads at start: the store (its connection, kept by the watcher), the data_version
    /// before the load, the catalog and the TSIG keys.
    struct FirstLoad {
        let store: ZoneStore
        let version: Int64
        let loaded: LoadedCatalog
        let keys: [TSIGKey]
    }

    /// Opens the store (seeding it from `seed_zones` if it holds no zone) and loads every zone.
    private static func firstLoad(_ config: ServerConfig, _ logger: Logger) throws -> FirstLoad {
        let store = try ZoneStore(path: config.dbPath)
        if let fixed = store.modeTightened { logger.warning("\(fixed)") }
        // The zones table alone (fallthroughModes): zones() would count every zone's records and find its SOA.
        if try store.fallthroughModes().isEmpty, !config.seedZones.isEmpty {
            let imported = try ZoneFiles.importDirectory(config.seedZones, into: store)
            for (zone, count) in imported { logger.info("seeded zone from \(config.seedZones)", metadata: ["zone": "\(zone)", "records": "\(count)"]) }
        }
        // The version is read before the load, on the connection the watcher keeps: a commit that lands in
        // between is seen as a change (one extra reload), never missed.
        let version = try store.dataVersion()
        let loaded = try store.loadSnapshot(generation: 1)
        for p in loaded.problems { logger.error("\(p)") }
        // The load's scratch (SQLite's cache, decoded rows) is freed by now: hand its pages back.
        releaseFreedMemory()
        return FirstLoad(store: store, version: version, loaded: loaded, keys: try store.tsigKeys())
    }

    struct ListenerGroup {
        var tcpFD: Int32
        var stop: StopFlag
        var threads: [pthread_t]
    }

    public var resolver: Resolver? { policies.snapshot().resolver }
    public var boundAddresses: [ListenAddress] { config.listen.filter { groups[$0] != nil } }

    /// Opens the store (seeding it from `seed_zones` if it holds no zone), loads the catalog, binds every
    /// address, and starts the UDP workers, the TCP loop, the store watcher and the metrics endpoint.
    public init(config: ServerConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        // The zones are built on the thread that then keeps them up to date, the store watcher's. glibc gives
        // each thread a malloc arena of its own: built on this thread, every edit's copy of a shard went to
        // the watcher's arena and the shard it replaced left a hole here that nothing reused, so RSS grew by
        // about a shard (4 KB) per edit at a million records.
        let loadedHere = Handoff<Result<UncheckedBox<FirstLoad>, any Error>>()
        let watcherRun = Handoff<(@Sendable () -> Void)?>()
        let zoneThread = spawnThread {
            loadedHere.put(Result { UncheckedBox(try Self.firstLoad(config, logger)) })
            if let run = watcherRun.take() { run() }
        }
        var watching = false
        defer { if !watching { watcherRun.put(nil) } }  // start-up failed: the zone thread ends
        // The store connection comes to this thread only while the zone thread waits, then goes back to it.
        let first = try loadedHere.take().get().value
        let store = first.store, catalog = first.loaded.catalog, loaded = first.loaded, version = first.version
        authority = Authority(catalog)
        keys = KeyBox(KeyRing.loading(first.keys, logger: logger))
        logger.info("zones loaded", metadata: ["zones": "\(catalog.zones.count)"])

        let resolver = config.resolver.enabled ? try Resolver(config: config.resolver, ednsPayload: config.ednsUDPPayload) : nil
        if let r = resolver { Self.logResolver(r, logger) }
        let queryLog = Self.makeQueryLog(config)
        // A zone copied from a primary that the config no longer makes a secondary becomes ours to edit.
        // A catalog's member is not in the config: the secondaries keep or remove those.
        let members = Set(try store.secondaryStates().filter { $0.catalog != nil }.map(\.zone))
        for (zone, role) in try store.zoneRoles() where role == .secondary && config.zones[zone]?.isSecondary != true && !members.contains(zone) {
            try store.setRole(zone, .primary)
            logger.warning("zone \(zone) was a secondary copy; its [zone] table has no 'primaries' now, so it is a primary zone here from now on (dnsctl may edit it)")
        }
        secondaries = Secondaries(zones: Self.secondaryZones(config), path: config.dbPath, keys: keys, logger: logger, served: catalog)
        let nudge = WakePipe()
        updater = Updater(path: config.dbPath, authority: authority, metrics: metrics.block(), logger: logger, committed: nudge)
        policies = PolicyBox(Policy(generation: 1, config: config, resolver: resolver, queryLog: queryLog, logger: logger, secondaries: secondaries,
                                    updater: updater))
        var publisher = CatalogPublisher()
        publisher.storeUpstream = Array(catalog.upstreamNames)
        authority.replace(with: publisher.decorate(catalog, position: loaded.changeID, policy: policies.snapshot()) { logger.warning("\($0)") })
        workerCount = config.udpWorkers > 0 ? config.udpWorkers : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

        let bound = try Self.bindAll(config.listen, workers: workerCount, config: config, logger: logger)
        guard !bound.isEmpty else { throw ConfigError("no listen address could be bound") }
        journal = JournalReader(path: config.dbPath, logger: logger)
        notifier = Notifier(policies: policies, keys: keys, metrics: metrics.block(), logger: logger)
        tcp = TCPServer(listeners: config.listen.compactMap { bound[$0]?.0 }, authority: authority, policies: policies, keys: keys,
                        journal: journal, metrics: metrics.block(), stop: stopFlag)
        for (addr, (tcpFD, udp)) in bound { groups[addr] = startGroup(tcpFD: tcpFD, udp: udp) }
        let tcpBox = UncheckedBox(tcp)
        threads.append(spawnThread { tcpBox.value.run() })
        if let path = config.controlSocketPath {
            // DNS matters more than dnsctl's cache commands: a control socket that cannot be made is logged,
            // and the server runs without it.
            do {
                let control = try ControlServer(path: path, policies: policies, authority: authority, stop: stopFlag)
                let controlBox = UncheckedBox(control)
                threads.append(spawnThread { controlBox.value.run() })
                controlSocket = path
            } catch {
                logger.error("no control socket, so 'dnsctl cache' and 'dnsctl explain' cannot reach this server: \(error)")
            }
        }
        startOnDemand(config)
        // Secondaries learn of the serials in force at start (they may have missed a change while we were down).
        for (origin, zone) in authority.snapshot().zones where policies.snapshot().zoneConfig(origin) != nil { notifier.zoneChanged(origin, serial: zone.soa.serial) }
        let watcher = StoreWatcher(path: config.dbPath, intervalMs: config.pollIntervalMs, authority: authority, policies: policies, keys: keys,
                                   notifier: notifier,
                                   stop: stopFlag, reload: reloadRequested, logger: logger, metrics: metrics, nudge: nudge)
        let handoff = UncheckedBox((ConnectionHandoff(store), version, loaded.changeID, publisher))
        watcherRun.put { watcher.run(store: handoff.value.0, version: handoff.value.1, changeID: handoff.value.2, publisher: handoff.value.3) }
        watching = true
        threads.append(zoneThread)
        probe.replace(with: boundAddresses.first)
        if let m = config.metricsListen { metricsEndpoint = try startMetrics(m) }
        logger.info("listening", metadata: ["addresses": "\(boundAddresses.map(\.description).joined(separator: " "))", "udp_workers": "\(workerCount)"])
    }

    /// Starts the transfer-side threads the config needs and that are not running yet (at start and on every
    /// reload; they stop with the server).
    func startOnDemand(_ c: ServerConfig) {
        let zones = Array(c.zones.values)
        if !started.contains("secondaries"), zones.contains(where: \.isSecondary) {
            started.insert("secondaries")
            threads.append(spawnThread { [stopFlag, secondaries] in secondaries.run(stop: stopFlag) })
        }
        if !started.contains("journal"), zones.contains(where: { !$0.allowTransfer.isEmpty }) {
            started.insert("journal")
            threads.append(spawnThread { [stopFlag, journal] in journal.run(stop: stopFlag) })
        }
        if !started.contains("updater"), zones.contains(where: { !$0.updateRules.isEmpty }) {
            started.insert("updater")
            threads.append(spawnThread { [stopFlag, updater] in updater.run(stop: stopFlag) })
        }
        if !started.contains("notifier"), zones.contains(where: { !$0.notify.isEmpty }) {
            started.insert("notifier")
            threads.append(spawnThread { [stopFlag, notifier] in notifier.run(stop: stopFlag) })
        }
    }

    static func secondaryZones(_ c: ServerConfig) -> [Secondaries.Zone] {
        c.zones.values.filter(\.isSecondary).map { Secondaries.Zone(name: $0.name, primaries: $0.primaries, key: $0.transferKey, isCatalog: $0.isCatalog) }
            .sorted { $0.name < $1.name }
    }

    static func logResolver(_ r: Resolver, _ logger: Logger) {
        logger.info("resolver on", metadata: ["upstreams": "\(r.config.upstreams.map(\.description).joined(separator: " "))",
                                             "forward_zones": "\(r.config.zones.map { $0.name.description }.joined(separator: " "))"])
    }

    static func makeQueryLog(_ config: ServerConfig) -> QueryLog? {
        guard !config.queryLog.isEmpty else { return nil }
        let log = QueryLog(path: config.queryLog, maxBytes: config.queryLogMaxBytes)
        log.start()
        return log
    }

    /// Sockets bound per listen address: the TCP one and one UDP socket per worker.
    typealias Bound = [ListenAddress: (Int32, [Int32])]

    /// Binds every address in `addrs` (at start, or the new ones of a reload). The default's IPv6 loopback
    /// may be missing (skipped with a warning); any other failure closes what was bound and throws.
    static func bindAll(_ addrs: [ListenAddress], workers: Int, config: ServerConfig, logger: Logger) throws -> Bound {
        var bound: Bound = [:]
        for addr in addrs {
            do {
                bound[addr] = try bind(addr, workers: workers, config: config, logger: logger)
            } catch let e as SocketError where !config.listenExplicit && addr.family == .v6 && (e.errno == EADDRNOTAVAIL || e.errno == EAFNOSUPPORT) {
                logger.warning("IPv6 loopback unavailable; not listening on \(addr)")
            } catch {
                closeAll(bound)
                throw error
            }
        }
        return bound
    }

    static func closeAll(_ b: Bound) {
        for (t, u) in b.values {
            close(t)
            u.forEach { close($0) }
        }
    }

    /// Binds one address: its TCP socket and one UDP socket per worker. Nothing stays open on failure.
    static func bind(_ addr: ListenAddress, workers: Int, config: ServerConfig, logger: Logger) throws -> (Int32, [Int32]) {
        let tcp = try bindSocket(addr, udp: false)
        var udp: [Int32] = []
        do {
            for _ in 0..<workers { udp.append(try bindSocket(addr, udp: true, receiveBuffer: config.udpReceiveBuffer)) }
        } catch {
            close(tcp)
            for f in udp { close(f) }
            throw error
        }
        if let first = udp.first, receiveBufferSize(first) < config.udpReceiveBuffer {
            logger.warning("UDP receive buffer capped by the kernel; raise net.core.rmem_max to absorb bursts (scripts/install sets it)",
                           metadata: ["granted": "\(receiveBufferSize(first))", "asked": "\(config.udpReceiveBuffer)"])
        }
        return (tcp, udp)
    }

    func startGroup(tcpFD: Int32, udp: [Int32]) -> ListenerGroup {
        let stop = StopFlag()
        var ts: [pthread_t] = []
        for fd in udp {
            let w = UDPWorker(fd: fd, authority: authority, policies: policies, keys: keys, metrics: metrics.block(), stop: stop, answerCacheSlots: config.answerCacheSlots)
            let box = UncheckedBox(w)
            ts.append(spawnThread { box.value.run() })
        }
        return ListenerGroup(tcpFD: tcpFD, stop: stop, threads: ts)
    }

    func startMetrics(_ at: ListenAddress) throws -> HTTPEndpoint {
        let endpoint = try HTTPEndpoint(host: at.host, port: at.port) { [metrics, authority, policies, probe] path in
            Self.http(path, metrics: metrics, authority: authority, policies: policies, probe: probe.snapshot())
        }
        endpoint.start()
        if !(at.host.hasPrefix("127.") || at.host == "::1") {
            logger.warning("metrics endpoint is not on loopback: anyone who reaches \(at) can read query statistics")
        }
        logger.info("metrics on http://\(at)/metrics")
        return endpoint
    }

    /// Asks the store watcher to reload the zones now.
    public func requestReload() { reloadRequested.set() }

    /// Applies a new config without a restart: new listen addresses are bound first (any failure leaves
    /// everything as it was), then the new policy (resolver, ACLs, rate limits, query log) is swapped in whole,
    /// then removed addresses are closed. The cache is carried over; the old forwarder keeps running until its
    /// queries in flight are answered. Returns the settings that only take effect after a restart.
    @discardableResult
    public func reload(_ new: ServerConfig) throws -> [String] {
        var later: [String] = []
        var next = new
        func keep<T: Equatable>(_ kp: WritableKeyPath<ServerConfig, T>, _ name: String) {
            if next[keyPath: kp] != config[keyPath: kp] {
                later.append(name)
                next[keyPath: kp] = config[keyPath: kp]
            }
        }
        keep(\.dbPath, "store.path")
        keep(\.seedZones, "store.seed_zones")
        keep(\.pollIntervalMs, "store.poll_interval_ms")
        keep(\.controlSocket, "server.control_socket")
        keep(\.udpWorkers, "server.udp_workers")
        keep(\.udpReceiveBuffer, "server.udp_receive_buffer")
        keep(\.answerCacheSlots, "server.answer_cache_slots")
        keep(\.logLevel, "log.level")

        // 1. Bind what is new; on failure close it and keep the old config.
        let fresh: Bound
        do { fresh = try Self.bindAll(next.listen.filter { groups[$0] == nil }, workers: workerCount, config: next, logger: logger) } catch {
            throw ConfigError("cannot listen: \(error); the previous config stays in effect")
        }
        // 2. The resolver: rebuilt only when its config changed, sharing the old cache.
        let old = policies.snapshot()
        var resolver = old.resolver
        var retired: Resolver? = nil
        if next.resolver != config.resolver || next.ednsUDPPayload != config.ednsUDPPayload {
            do {
                resolver = next.resolver.enabled ? try Resolver(config: next.resolver, ednsPayload: next.ednsUDPPayload, reusing: old.resolver?.cache, previous: old.resolver) : nil
            } catch {
                Self.closeAll(fresh)
                throw ConfigError("cannot start the resolver: \(error); the previous config stays in effect")
            }
            retired = old.resolver
            if let r = resolver { Self.logResolver(r, logger) }
        }
        // 3. The metrics endpoint, if it moved.
        var endpoint = metricsEndpoint
        var retiredEndpoint: HTTPEndpoint? = nil
        if next.metricsListen != config.metricsListen {
            if let m = next.metricsListen {
                do {
                    metricsEndpoint?.stop()  // free the port first in case only the host changed
                    endpoint = try startMetrics(m)
                } catch {
                    if let m = config.metricsListen { metricsEndpoint = try? startMetrics(m) }
                    Self.closeAll(fresh)
                    if retired != nil { resolver?.stop() }
                    throw ConfigError("\(error); the previous config stays in effect")
                }
            } else {
                retiredEndpoint = metricsEndpoint
                endpoint = nil
            }
        }
        // 4. The new policy, in one swap.
        var queryLog = old.queryLog
        var retiredLog: QueryLog? = nil
        if next.queryLog != config.queryLog || next.queryLogMaxBytes != config.queryLogMaxBytes {
            retiredLog = old.queryLog
            queryLog = Self.makeQueryLog(next)
        }
        policyGeneration += 1
        policies.replace(with: Policy(generation: policyGeneration, config: next, resolver: resolver, queryLog: queryLog, logger: logger, secondaries: secondaries,
                                     updater: updater))
        if Self.secondaryZones(next) != Self.secondaryZones(config) { secondaries.replace(Self.secondaryZones(next)) }
        startOnDemand(next)
        metricsEndpoint = endpoint
        retiredEndpoint?.stop()
        // 5. Listeners: start the new, hand TCP its set, stop the removed.
        for (addr, (t, u)) in fresh { groups[addr] = startGroup(tcpFD: t, udp: u) }
        let removed = groups.keys.filter { !next.listen.contains($0) }
        config = next
        tcp.replaceListeners(next.listen.compactMap { groups[$0]?.tcpFD })
        for addr in removed {
            guard let g = groups.removeValue(forKey: addr) else { continue }
            g.stop.set()
            for t in g.threads { pthread_join(t, nil) }
        }
        probe.replace(with: boundAddresses.first)
        retiredLog?.stop()
        if let r = retired {
            // Queries already sent upstream finish on the old forwarder (its deadline bounds the wait).
            let grace = UInt32(r.config.deadlineMs + 500) * 1000
            let box = UncheckedBox(r)
            _ = spawnThread { usleep(grace); box.value.stop() }
        }
        requestReload()
        logger.info("config reloaded", metadata: ["listen": "\(boundAddresses.map(\.description).joined(separator: " "))",
                                                  "added": "\(fresh.keys.map(\.description).sorted().joined(separator: " "))",
                                                  "removed": "\(removed.map(\.description).sorted().joined(separator: " "))"])
        metrics.configReloads.add(1, ordering: .relaxed)
        return later
    }

    /// A reload that was not applied (bad config): counted, logged; the running config stays.
    public func rejectReload(_ why: String) {
        metrics.configReloadFailures.add(1, ordering: .relaxed)
        logger.error("config reload rejected, still running the previous config: \(why)")
    }

    /// Stops every thread and waits for them (each notices within ~500 ms).
    public func stop() {
        stopFlag.set()
        for g in groups.values { g.stop.set() }
        for g in groups.values { for t in g.threads { pthread_join(t, nil) } }
        groups = [:]
        for t in threads { pthread_join(t, nil) }
        threads = []
        metricsEndpoint?.stop()
        metricsEndpoint = nil
        if let path = controlSocket { unlink(path) }
        let p = policies.snapshot()
        p.resolver?.stop()
        p.queryLog?.stop()
    }
}

/// Moves a thread-confined object into the one thread that will own it from then on.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

public final class ReloadFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public func set() { flag.store(true, ordering: .releasing) }
    public func take() -> Bool { flag.exchange(false, ordering: .acquiringAndReleasing) }
}

#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import DNSWire
import DNSZone
import Logging

/// The running server: sockets bound, threads started. `stop()` asks every thread to finish and joins them.
public final class Server {
    public let config: ServerConfig
    public let authority: Authority
    let stopFlag = StopFlag()
    let reloadRequested = ReloadFlag()
    public let resolver: Resolver?
    var threads: [pthread_t] = []
    let logger: Logger
    public private(set) var boundAddresses: [ListenAddress] = []

    /// Opens the store (seeding it from `seed_zones` if it holds no zone), loads the catalog, binds every
    /// address, and starts the UDP workers, the TCP loop and the store watcher.
    public init(config: ServerConfig, logger: Logger) throws {
        self.config = config
        self.logger = logger
        let store = try ZoneStore(path: config.dbPath)
        if try store.zones().isEmpty, !config.seedZones.isEmpty {
            let imported = try ZoneFiles.importDirectory(config.seedZones, into: store)
            for (zone, count) in imported { logger.info("seeded zone from \(config.seedZones)", metadata: ["zone": "\(zone)", "records": "\(count)"]) }
        }
        // The version is read before the load, on the connection the watcher keeps: a commit that lands in
        // between is seen as a change (one extra reload), never missed.
        let version = try store.dataVersion()
        let (catalog, problems) = try store.loadCatalog(generation: 1)
        for p in problems { logger.error("\(p)") }
        authority = Authority(catalog)
        logger.info("zones loaded", metadata: ["zones": "\(catalog.zones.count)"])

        resolver = config.resolver.enabled ? try Resolver(config: config.resolver, ednsPayload: config.ednsUDPPayload) : nil
        if let r = resolver {
            logger.info("resolver on", metadata: ["upstreams": "\(r.config.upstreams.map(\.description).joined(separator: " "))",
                                                 "forward_zones": "\(r.config.zones.map { $0.name.description }.joined(separator: " "))"])
        }
        let engine = QueryEngine(ednsUDPPayload: config.ednsUDPPayload, recursion: resolver != nil)
        let workers = config.udpWorkers > 0 ? config.udpWorkers : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var udpWorkers: [UDPWorker] = []
        var tcpFDs: [Int32] = []
        for addr in config.listen {
            do {
                let tcp = try bindSocket(addr, udp: false)
                var udp: [Int32] = []
                do {
                    for _ in 0..<workers { udp.append(try bindSocket(addr, udp: true, receiveBuffer: config.udpReceiveBuffer)) }
                } catch {
                    close(tcp)
                    for f in udp { close(f) }
                    throw error
                }
                tcpFDs.append(tcp)
                if let first = udp.first, receiveBufferSize(first) < config.udpReceiveBuffer {
                    logger.warning("UDP receive buffer capped by the kernel; raise net.core.rmem_max to absorb bursts",
                                   metadata: ["granted": "\(receiveBufferSize(first))", "asked": "\(config.udpReceiveBuffer)"])
                }
                for fd in udp { udpWorkers.append(UDPWorker(fd: fd, engine: engine, authority: authority, stop: stopFlag, answerCacheSlots: config.answerCacheSlots, resolver: resolver,
                                                     allowQuery: config.allowQuery)) }
                boundAddresses.append(addr)
            } catch let e as SocketError where !config.listenExplicit && addr.family == .v6 && (e.errno == EADDRNOTAVAIL || e.errno == EAFNOSUPPORT) {
                logger.warning("IPv6 loopback unavailable; not listening on \(addr)")
            }
        }
        guard !boundAddresses.isEmpty else { throw ConfigError("no listen address could be bound") }
        let tcp = TCPServer(listeners: tcpFDs, engine: engine, authority: authority, stop: stopFlag,
                            maxConnections: config.tcpMaxConnections, idleTimeoutMs: config.tcpIdleTimeoutMs, resolver: resolver,
                            allowQuery: config.allowQuery)
        for w in udpWorkers {
            let box = UncheckedBox(w)
            threads.append(spawnThread { box.value.run() })
        }
        let tcpBox = UncheckedBox(tcp)
        threads.append(spawnThread { tcpBox.value.run() })
        if let path = config.controlSocketPath {
            let control = try ControlServer(path: path, resolver: resolver, stop: stopFlag)
            let controlBox = UncheckedBox(control)
            threads.append(spawnThread { controlBox.value.run() })
        }
        let watcher = StoreWatcher(path: config.dbPath, intervalMs: config.pollIntervalMs, authority: authority,
                                   stop: stopFlag, reload: reloadRequested, logger: logger)
        let handoff = UncheckedBox((store, version))
        threads.append(spawnThread { watcher.run(store: handoff.value.0, version: handoff.value.1) })
        logger.info("listening", metadata: ["addresses": "\(boundAddresses.map(\.description).joined(separator: " "))", "udp_workers": "\(workers)"])
    }

    /// Asks the store watcher to reload now (SIGHUP).
    public func requestReload() { reloadRequested.set() }

    /// Stops every thread and waits for them (each notices within ~500 ms).
    public func stop() {
        stopFlag.set()
        for t in threads { pthread_join(t, nil) }
        threads = []
        resolver?.stop()
    }
}

/// Moves a thread-confined object into the one thread that will own it from then on.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}

public final class ReloadFlag: Sendable {
    private let flag = StopFlag.AtomicBool()
    public init() {}
    public func set() { flag.set(true) }
    public func take() -> Bool { flag.exchange(false) }
}

import Synchronization

extension StopFlag {
    final class AtomicBool: Sendable {
        let v = Atomic<Bool>(false)
        func set(_ b: Bool) { v.store(b, ordering: .releasing) }
        func exchange(_ b: Bool) -> Bool { v.exchange(b, ordering: .acquiringAndReleasing) }
    }
}

/// Polls the store's PRAGMA data_version and swaps in a fresh catalog when another process committed
/// (`dnsctl`), or when asked (SIGHUP). Owns its own SQLite connection, on its own thread.
struct StoreWatcher: Sendable {
    let path: String
    let intervalMs: Int
    let authority: Authority
    let stop: StopFlag
    let reload: ReloadFlag
    let logger: Logger

    /// - Parameters: `store` and `version`: the connection that loaded the first catalog and its data_version
    ///   before that load. From here on the connection belongs to this thread.
    func run(store first: ZoneStore, version: Int64) {
        var store: ZoneStore? = first
        var lastVersion = version
        var generation: UInt64 = authority.snapshot().generation
        while !stop.isSet {
            usleep(UInt32(intervalMs) * 1000)
            do {
                if store == nil {
                    // After an error: a fresh connection, and a reload to be sure nothing was missed.
                    store = try ZoneStore(path: path)
                    lastVersion = -1
                }
                guard let s = store else { continue }
                let v = try s.dataVersion()
                let forced = reload.take()
                guard v != lastVersion || forced else { continue }
                lastVersion = v
                generation += 1
                let (catalog, problems) = try s.loadCatalog(generation: generation)
                for p in problems { logger.error("\(p)") }
                authority.replace(with: catalog)
                logger.info("zones reloaded", metadata: ["zones": "\(catalog.zones.count)", "generation": "\(generation)"])
            } catch {
                // Keep serving the old snapshot; try again next tick with a fresh connection.
                logger.error("store reload failed, still serving the previous zones: \(error)")
                store = nil
            }
        }
    }
}

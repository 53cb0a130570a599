#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import DNSWire
import DNSZone
import JamLog
import SystemIO

/// Polls the store's PRAGMA data_version and, when another process committed (`dnsctl`), applies the store's
/// journal to the served zones: each change touches only the node shards it changes, so an edit of a
/// million-record zone is live in milliseconds and readers keep the old snapshot until their next batch. The
/// whole store is loaded only on SIGHUP or when the journal no longer reaches back. Owns its own SQLite
/// connection, on its own thread; old snapshots are freed here too, never on a query thread.
struct StoreWatcher: Sendable {
    let path: String
    let intervalMs: Int
    let authority: Authority
    /// Its route table is rebuilt at once for a new catalog, so the old catalog is not kept alive by it
    /// until the next query arrives.
    let policies: PolicyBox
    /// Re-read whenever a settings change or a full load might have changed the store's TSIG keys.
    let keys: KeyBox
    /// Told of every zone whose serial a step changed, to NOTIFY its secondaries.
    let notifier: Notifier?
    let stop: StopFlag
    let reload: ReloadFlag
    let logger: Logger
    let metrics: ServerMetrics
    /// Woken by this process's own writers (the UPDATE writer) right after a commit: no wait for the file
    /// event and the 5 ms re-check.
    var nudge: WakePipe? = nil

    /// - Parameters: `store`, `version`, `changeID`: the connection that loaded the first catalog, its
    ///   data_version before that load and the journal position of the load. The connection belongs to this
    ///   thread from here on: taken out of the handoff, so that closing it here closes it.
    func run(store first: ConnectionHandoff, version: Int64, changeID: Int64, publisher start: CatalogPublisher) {
        var publisher = start
        var store: ZoneStore? = first.take()
        var lastVersion = version
        var applied: Int64? = changeID
        var generation: UInt64 = authority.snapshot().generation
        var failing = false
        var retired: [Catalog] = []
        let wake = StoreWake(path: path)
        var eager = 0  // fast re-checks left after a write to the store's files
        // Closed while nothing happens, when file events say when something does: no connection, so no SQLite
        // mapped (1.2 MB). Reopened on the next event, the next reload, and every `recheckMs` regardless.
        var idle = false
        var idleSince = monotonicMs()
        // The first check runs at once, now that file events are watched: a commit since the first load is
        // applied, and the load's connection closed, without waiting for a tick.
        var started = false
        while !stop.isSet {
            let woke = started ? wake.wait(ms: eager > 0 ? 5 : intervalMs, nudge: nudge) : false
            started = true
            if woke { eager = 40 } else if eager > 0 { eager -= 1 }
            release(&retired)
            let forced = reload.take()
            if idle && !woke && !forced && monotonicMs() - idleSince < Self.recheckMs { continue }
            do {
                if store == nil {
                    store = try ZoneStore(path: path)
                    lastVersion = -1
                    // After an error: a fresh connection, and a full load to be sure nothing was missed. After
                    // an idle close: the journal since the last entry applied, as after any commit.
                    if !idle { applied = nil }
                    idle = false
                }
                guard let s = store else { continue }
                let v = try s.dataVersion()
                if v != lastVersion || forced {
                    // A fresh connection's first data_version says nothing about a new commit: the fast re-checks
                    // go on until the commit that woke the watcher is visible (it may not be yet).
                    let fresh = lastVersion == -1
                    lastVersion = v
                    if !fresh { eager = 0 }
                    if try step(store: s, forced: forced, applied: &applied, generation: &generation, publisher: &publisher, retired: &retired) { eager = 0 }
                    failing = false
                }
            } catch {
                // Keep serving the old snapshot; try again next tick with a fresh connection (logged once per
                // outage, not every tick).
                metrics.zoneReloadFailures.add(1, ordering: .relaxed)
                if !failing { logger.error("store reload failed, still serving the previous zones: \(error)") }
                failing = true
                store = nil
                idle = false
                continue
            }
            if eager == 0 && wake.watching && !failing {
                store = nil
                idle = true
                idleSince = monotonicMs()
            }
        }
    }

    /// How often an idle watcher looks at the store without a file event (one that was lost, or a store on a
    /// filesystem that does not report them).
    static let recheckMs: Int64 = 30_000

    /// Applies what the store committed since `applied` (everything when `forced`) and serves it; false when
    /// nothing served changed.
    private func step(store s: ZoneStore, forced: Bool, applied: inout Int64?, generation: inout UInt64, publisher: inout CatalogPublisher,
                      retired: inout [Catalog]) throws(StoreError) -> Bool {
        let current = authority.snapshot()
        guard let step = try next(store: s, current: current, after: forced ? nil : applied, generation: generation + 1) else { return false }
        generation += 1
        applied = step.position
        if step.fullLoad || step.settingsChanged { keys.replace(with: KeyRing.loading(try s.tsigKeys(), logger: logger)) }
        for p in step.problems { logger.error("\(p)") }
        if step.fullLoad || step.settingsChanged { publisher.storeUpstream = Array(step.catalog.upstreamNames) }
        let served = publisher.decorate(step.catalog, position: step.position, policy: policies.snapshot()) { logger.warning("\($0)") }
        authority.replace(with: served)
        if let notifier {
            for (origin, zone) in served.zones where current.zones[origin]?.soa.serial != zone.soa.serial {
                notifier.zoneChanged(origin, serial: zone.soa.serial)
            }
        }
        _ = policies.snapshot().routes(for: served)
        retired.append(current)
        metrics.zoneReloads.add(1, ordering: .relaxed)
        logger.info(step.fullLoad ? "zones reloaded" : "zones updated",
                    metadata: ["zones": "\(step.catalog.zones.count)", "generation": "\(generation)", "journal": "\(step.position)"])
        return true
    }

    /// Frees the retired snapshots no reader holds any more, on this thread (a query thread dropping the last
    /// reference to a whole catalog would stall its queries while it frees), then hands the pages back:
    /// glibc keeps a freed heap, and RSS would climb by the size of each freed snapshot.
    private func release(_ retired: inout [Catalog]) {
        var freed = false
        var i = 0
        while i < retired.count {
            if isKnownUniquelyReferenced(&retired[i]) {
                retired.swapAt(i, retired.count - 1)
                retired.removeLast()
                freed = true
            } else {
                i += 1
            }
        }
        if freed { releaseFreedMemory() }
    }

    /// What one poll found: the catalog to serve, the journal position it reflects, zones that failed to load.
    struct Step {
        var catalog: Catalog
        var position: Int64
        var problems: [String]
        var fullLoad: Bool
        var settingsChanged = false
    }

    /// The catalog after the store's new commits; nil when nothing served changed. `after` nil, or a journal
    /// that no longer reaches back to it: everything loaded.
    private func next(store s: ZoneStore, current: Catalog, after: Int64?, generation: UInt64) throws(StoreError) -> Step? {
        try s.reading { () throws(StoreError) -> Step? in
            func full() throws(StoreError) -> Step {
                let l = try s.loadSnapshot(generation: generation)
                metrics.storeFullLoads.add(1, ordering: .relaxed)
                return Step(catalog: l.catalog, position: l.changeID, problems: l.problems, fullLoad: true)
            }
            guard let after, let changes = try s.changes(after: after) else { return try full() }
            guard let last = changes.last else { return nil }
            var update = CatalogUpdate(current)
            if update.apply(changes) { return try full() }
            metrics.zoneChangesApplied.add(UInt64(changes.count), ordering: .relaxed)
            let problems = try update.finish(store: s)
            return Step(catalog: Catalog(zones: Array(update.zones.values), generation: generation, upstreamNames: update.upstreamNames),
                        position: last.id, problems: problems, fullLoad: false, settingsChanged: update.settingsChanged)
        }
    }
}

/// A connection passed to the thread that keeps it. The receiver takes it out, leaving no other reference.
final class ConnectionHandoff: @unchecked Sendable {
    private var store: ZoneStore?
    init(_ store: ZoneStore) { self.store = store }
    func take() -> ZoneStore? {
        defer { store = nil }
        return store
    }
}

/// Wakes the store watcher when a file beside the store is written: a commit writes the -wal file, so an edit
/// is seen in milliseconds instead of at the next poll. The commit becomes visible only once SQLite has
/// synced the log and updated its shared index (no file event for that), so the watcher then checks every
/// 5 ms for a while. The poll interval stays the fallback (no inotify, a store on a network filesystem).
///
/// Only writes count (and a store file created or renamed into place): the watcher's own connection opening
/// and closing creates the -wal and -shm files and closes them after writing, and had those events woken it,
/// a watcher that closes its connection when idle would reopen it for ever.
final class StoreWake {
    let fd: Int32
    /// The store's files whose writes mean a commit: the database, its -wal and its -journal (not the -shm
    /// index, which readers write too).
    let names: [[UInt8]]

    /// Whether file events arrive at all: without them the watcher must poll and keep its connection.
    var watching: Bool { fd >= 0 }

    init(path: String) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        names = [base, base + "-wal", base + "-journal"].map { Array($0.utf8) }
        var f = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        if f >= 0 && inotify_add_watch(f, dir.isEmpty ? "/" : dir, UInt32(IN_MODIFY | IN_CREATE | IN_MOVED_TO)) < 0 {
            close(f)
            f = -1
        }
        fd = f
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Waits up to `ms`; true when one of the store's files (the database, its -wal or -journal) was written,
    /// the database file was created or renamed into place, or events were lost (the queue overflowed).
    func wait(ms: Int, nudge: WakePipe? = nil) -> Bool {
        guard fd >= 0 else {
            if let nudge { nudge.wait(ms: Int32(ms)) } else { usleep(UInt32(ms) * 1000) }
            return false
        }
        var p = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: nudge?.fd ?? -1, events: Int16(POLLIN), revents: 0)]
        guard poll(&p, 2, Int32(ms)) > 0 else { return false }
        if p[1].revents != 0 {
            nudge?.drain()
            return true
        }
        var buf = [UInt8](repeating: 0, count: 4096)
        var ours = false
        while true {
            let n = read(fd, &buf, buf.count)
            guard n > 0 else { break }
            // struct inotify_event: wd, mask, cookie, len (4 bytes each), then len bytes of NUL-padded name.
            var i = 0
            while i + 16 <= n {
                let mask = UInt32(buf[i + 4]) | UInt32(buf[i + 5]) << 8 | UInt32(buf[i + 6]) << 16 | UInt32(buf[i + 7]) << 24
                let len = Int(buf[i + 12]) | Int(buf[i + 13]) << 8 | Int(buf[i + 14]) << 16 | Int(buf[i + 15]) << 24
                let name = Array(buf[min(n, i + 16)..<min(n, i + 16 + len)].prefix { $0 != 0 })
                if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    ours = true
                } else if mask & UInt32(IN_CREATE) != 0 {
                    if name == names[0] { ours = true }  // the database itself: not the -wal its readers create
                } else if names.contains(name) {
                    ours = true
                }
                i += 16 + len
            }
        }
        return ours
    }
}

/// The served zones being brought up to date with journal entries: record changes applied in place, zones
/// that need it loaded whole at the end (their load reads the same transaction, so it includes every later
/// entry of theirs).
struct CatalogUpdate {
    var zones: [DNSName: Zone]
    var upstreamNames: [DNSName]
    var reload: Set<DNSName> = []
    var settingsChanged = false

    init(_ catalog: Catalog) {
        zones = catalog.zones
        upstreamNames = Array(catalog.upstreamNames)
    }

    /// Applies the entries in order. True when one of them needs the whole store loaded.
    mutating func apply(_ changes: [StoreChange]) -> Bool {
        for c in changes {
            guard let z = c.zone else {
                if c.kind == .settings { settingsChanged = true; continue }
                return true
            }
            switch c.kind {
            case .records:
                if reload.contains(z) { continue }
                if let zone = zones[z], let changed = zone.applying(removed: c.removed, added: c.added) {
                    zones[z] = changed
                } else {
                    reload.insert(z)
                }
            case .replaced: reload.insert(z)
            case .zoneRemoved:
                reload.remove(z)
                zones[z] = nil
            case .settings: settingsChanged = true
            }
        }
        return false
    }

    /// Loads the zones marked for it and re-reads modes and marks after a settings change; returns the zones
    /// that failed to load (left out, as at start).
    mutating func finish(store s: ZoneStore) throws(StoreError) -> [String] {
        var problems: [String] = []
        for z in reload {
            switch try s.loadZone(z) {
            case .success(let zone)?: zones[z] = zone
            case .failure(let e)?:
                zones[z] = nil
                problems.append(e.message)
            case nil: zones[z] = nil
            }
        }
        if settingsChanged {
            let modes = try s.fallthroughModes()
            for (origin, zone) in zones { zones[origin] = zone.with(fallthroughMode: modes[origin] ?? .off) }
            upstreamNames = try s.upstreamNames()
        }
        return problems
    }
}

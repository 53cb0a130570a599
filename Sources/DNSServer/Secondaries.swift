#if canImport(Glibc)
import Glibc
#endif
import DNSForward
import DNSStore
import DNSTSIG
import DNSWire
import DNSZone
import JamLog
import Synchronization
import SystemIO

/// The zones this server is a secondary for, kept current from their primaries (RFC 1034 §4.3.5, RFC 1996):
/// an SOA check at start, on every NOTIFY and at the SOA's refresh interval (retry after a failure), then IXFR
/// (AXFR when there is no copy, the primary asks for it, or the IXFR does not apply). A transfer is checked
/// whole and committed to the store in one transaction; the store watcher then serves it like any edit. After
/// `expire` without a successful check the zone answers SERVFAIL until a primary is reached again, with a log
/// line at half of it. One thread; the refresh state is kept in the store, so the expire clock survives a
/// restart.
package final class Secondaries: Sendable {
    struct Zone: Sendable, Equatable {
        var name: DNSName
        var primaries: [UpstreamServer]
        var key: DNSName?
        /// A catalog (RFC 9432): its members are secondary zones too, from the same primaries.
        var isCatalog = false
        /// Set for a zone that is here because a catalog lists it.
        var catalog: DNSName?
    }

    enum NotifyVerdict: Equatable { case accepted, notSecondary, notPrimary, wrongKey }

    /// What the zone metrics show, per zone.
    struct Status: Sendable {
        var serial: UInt32?
        var lastSuccess: Int64?
        var failures = 0
        var refreshes = 0
        var transfers = 0
        var lastTransferMs: Int64 = 0
        var lastTransferBytes = 0
        var expired = false
        var nextRefresh: Int64 = 0
        /// The copy's SOA expire, as the last refresh attempt read it; nil while there is no copy. Kept here so
        /// the expiry check each tick reads no SQLite.
        var expire: UInt32?
    }

    private let zones: Mutex<[DNSName: Zone]>
    /// Members of consumed catalogs, by catalog: secondary zones no configuration names.
    private let members = Mutex<[DNSName: [Zone]]>([:])
    /// Zones that answer SERVFAIL: configured but without a copy yet, or expired. Read by every query batch.
    let down: Current<Set<DNSName>>
    /// Counts changes of `down`: part of the answer memo's key, so a memoised answer of a zone that has
    /// since expired (or come back) is not served.
    let downGeneration = Atomic<UInt64>(0)
    private let events = Mutex<[(DNSName, Bool)]>([])  // (zone, from NOTIFY)
    private let status = Mutex<[DNSName: Status]>([:])
    private let wakeup = WakePipe()
    let path: String
    let keys: KeyBox
    let logger: Logger

    init(zones list: [Zone], path: String, keys: KeyBox, logger: Logger, served: Catalog) {
        var d: [DNSName: Zone] = [:]
        for z in list { d[z.name] = z }
        zones = Mutex(d)
        down = Current(Set(list.map(\.name).filter { served.zones[$0] == nil }))
        self.path = path
        self.keys = keys
        self.logger = logger
    }

    /// Every secondary zone: the configured ones, then catalog members (a configured zone wins over a member).
    var configured: [Zone] {
        let fixed = zones.withLock { $0 }
        var all = fixed
        for list in members.withLock({ Array($0.values) }) { for m in list where all[m.name] == nil { all[m.name] = m } }
        return all.values.sorted { $0.name < $1.name }
    }
    /// The secondary zone `name`, configured or a catalog's member; nil when we are its primary.
    func zone(_ name: DNSName) -> Zone? { configured.first { $0.name == name } }
    func statuses() -> [DNSName: Status] { status.withLock { $0 } }

    /// A config reload's zone list: new zones are checked at once; dropped ones stop being refreshed (their
    /// copy stays in the store until removed, and is served as a primary would not be: see Server.reload).
    func replace(_ list: [Zone]) {
        zones.withLock { z in
            z = [:]
            for e in list { z[e.name] = e }
        }
        for e in list { refreshNow(e.name) }
    }

    /// A NOTIFY for `zone` (RFC 1996 §3.10): accepted only from a primary of the zone, signed with its key
    /// when it has one. Accepted means an SOA check soon.
    func notify(zone: DNSName, from client: IPBits, key: DNSName?) -> NotifyVerdict {
        guard let z = configured.first(where: { $0.name == zone }) else { return .notSecondary }
        guard z.primaries.contains(where: { IPBits(bytes: Self.addressBytes($0)) == client }) else { return .notPrimary }
        if let want = z.key, want != key { return .wrongKey }
        queue(zone, notify: true)
        return .accepted
    }

    /// `dnsctl zone refresh`: an SOA check now. False when the zone is not a secondary here.
    @discardableResult
    func refreshNow(_ zone: DNSName) -> Bool {
        guard configured.contains(where: { $0.name == zone }) else { return false }
        queue(zone, notify: false)
        return true
    }

    private func queue(_ zone: DNSName, notify: Bool) {
        events.withLock { $0.append((zone, notify)) }
        wakeup.wake()
    }

    static func addressBytes(_ u: UpstreamServer) -> [UInt8] {
        if let v4 = IPv4Address(u.host) { return v4.bytes }
        if let v6 = IPv6Address(u.host) { return v6.bytes }
        return []
    }

    func run(stop: StopFlag) {
        var store = StoreOnDemand(path: path)
        var next: [DNSName: Int64] = [:]
        var warned: Set<DNSName> = []
        // The persisted state: the expire clock runs from the last success, across restarts. No secondary
        // zone, no connection: two connections closing at once at exit both leave the WAL file behind.
        if !configured.isEmpty, let s = try? store.get(), let saved = try? s.secondaryStates() {
            status.withLock { st in
                for e in saved {
                    st[e.zone, default: Status()].lastSuccess = e.lastSuccess
                    st[e.zone, default: Status()].failures = e.failures
                }
            }
            for z in configured where z.isCatalog { syncMembers(of: z, store: s) }
            for z in configured {
                let expire = (try? s.records(zone: z.name, at: z.name))?.first { $0.type == .soa }?.rdata.soa?.expire
                status.withLock { $0[z.name, default: Status()].expire = expire }
            }
        }
        while !stop.isSet {
            wakeup.wait(ms: 250)
            let now = Int64(time(nil))
            let asked = events.withLock { q -> [(DNSName, Bool)] in defer { q.removeAll() }; return q }
            for (z, _) in asked { next[z] = now }
            for z in configured where next[z.name] == nil { next[z.name] = now }  // new (or at start): check now
            store.closeIfIdle()
            for z in configured where next[z.name]! <= now {
                do {
                    next[z.name] = refresh(z, store: try store.get(), now: now)
                } catch {
                    logger.error("secondary zone \(z.name): the store cannot be read: \(error)")
                    store.drop()
                    next[z.name] = now + 10
                }
            }
            // Expiry, and the warning well before it.
            var downNow = down.snapshot()
            let before = downNow
            for z in configured {
                let st = status.withLock { $0[z.name] } ?? Status()
                guard let expire = st.expire, let last = st.lastSuccess else {
                    if st.expire == nil { downNow.insert(z.name) }
                    continue
                }
                let age = now - last
                if age > Int64(expire) {
                    if !downNow.contains(z.name) {
                        logger.error("secondary zone \(z.name) expired: no primary reached for \(age) s (SOA expire \(expire) s); answering SERVFAIL for it until one is",
                                     metadata: ["primaries": "\(z.primaries.map(\.description).joined(separator: " "))"])
                    }
                    downNow.insert(z.name)
                } else {
                    downNow.remove(z.name)
                    if age > Int64(expire) / 2 {
                        if warned.insert(z.name).inserted {
                            logger.warning("secondary zone \(z.name) has not reached a primary for \(age) s; it expires in \(Int64(expire) - age) s")
                        }
                    } else {
                        warned.remove(z.name)
                    }
                }
                status.withLock { $0[z.name, default: Status()].expired = age > Int64(expire) }
            }
            for z in downNow where !configured.contains(where: { $0.name == z }) { downNow.remove(z) }
            if downNow != before { setDown(downNow) }
        }
    }

    private func setDown(_ d: Set<DNSName>) {
        down.replace(with: d)
        downGeneration.add(1, ordering: .releasing)
    }

    /// One refresh of one zone; returns when the next is due (unix seconds).
    private func refresh(_ z: Zone, store: ZoneStore, now: Int64) -> Int64 {
        let ours: ResourceRecord?
        do { ours = try store.records(zone: z.name, at: z.name).first { $0.type == .soa } } catch { ours = nil }
        let soa = ours?.rdata.soa
        var key: TSIGKey?
        if let k = z.key {
            key = keys.snapshot().key(k)
            if key == nil {
                return failed(z, store: store, now: now, soa: soa, error: "TSIG key \(k) is not in the store (add it with 'dnsctl tsig add \(k) --secret-file FILE')")
            }
        }
        var errors: [String] = []
        for p in z.primaries {
            let client = PrimaryClient(server: p, key: key)
            do {
                let theirs = try client.soaSerial(z.name)
                if let soa, !serialNewer(theirs, than: soa.serial) {
                    if serialNewer(soa.serial, than: theirs) {
                        logger.warning("primary \(p) has serial \(theirs) for \(z.name), older than our \(soa.serial); keeping ours", metadata: [:])
                    }
                    return succeeded(z, store: store, now: now, soa: soa)
                }
                let started = monotonicMs()
                var (got, bytes, messages) = try client.transfer(z.name, ixfrFrom: ours)
                if case .askWhole = got { (got, bytes, messages) = try client.transfer(z.name, ixfrFrom: nil) }
                var kind = ours == nil ? "AXFR" : "IXFR"
                switch got {
                case .upToDate, .askWhole:
                    return succeeded(z, store: store, now: now, soa: soa)
                case .incremental(let diffs, _):
                    do {
                        try store.applyTransfer(zone: z.name, diffs: diffs)
                    } catch {
                        logger.warning("IXFR of \(z.name) from \(p) does not apply (\(error)); transferring it whole")
                        (got, bytes, messages) = try client.transfer(z.name, ixfrFrom: nil)
                        kind = "AXFR"
                        try commitWhole(got, z, store: store, ours: nil)
                    }
                case .whole:
                    if ours != nil { kind = "IXFR (whole zone)" }
                    try commitWhole(got, z, store: store, ours: soa?.serial)
                }
                let ms = monotonicMs() - started
                let newSOA = (try? store.records(zone: z.name, at: z.name))?.first { $0.type == .soa }?.rdata.soa
                status.withLock { st in
                    st[z.name, default: Status()].transfers += 1
                    st[z.name, default: Status()].lastTransferMs = ms
                    st[z.name, default: Status()].lastTransferBytes = bytes
                }
                logger.info("zone transferred from primary", metadata: [
                    "zone": "\(z.name)", "type": "\(kind)", "primary": "\(p)", "serial": "\(newSOA?.serial ?? 0)",
                    "messages": "\(messages)", "bytes": "\(bytes)", "ms": "\(ms)",
                ])
                return succeeded(z, store: store, now: now, soa: newSOA)
            } catch let e as TransferError {
                errors.append("\(p): \(e)")
            } catch {
                errors.append("\(p): \(error)")
            }
        }
        return failed(z, store: store, now: now, soa: soa, error: errors.joined(separator: "; "))
    }

    /// An AXFR (or AXFR-style IXFR) answer committed, if its serial moves forward from ours.
    private func commitWhole(_ got: Received, _ z: Zone, store: ZoneStore, ours: UInt32?) throws {
        guard case .whole(let records, let serial) = got else { throw TransferError("the primary did not send the zone whole") }
        if let ours, !serialNewer(serial, than: ours) {
            throw TransferError("the transfer has serial \(serial), not newer than our \(ours) (RFC 1982); keeping our copy")
        }
        try store.storeTransfer(zone: z.name, records: records)
    }

    /// A consumed catalog's copy read again: members it lists now become secondary zones (checked at once),
    /// members it no longer lists are removed from the store, so their names stop being served (RFC 9432 §5).
    func syncMembers(of z: Zone, store: ZoneStore) {
        guard z.isCatalog else { return }
        guard let records = try? store.records(zone: z.name) else { return }
        var b = ZoneBuilder(origin: z.name)
        for r in records { b.add(r) }
        guard let zone = try? b.build() else { return }
        let (listed, problems) = CatalogZone.members(of: zone)
        for p in problems { logger.warning("\(p)") }
        let fixed = zones.withLock { $0 }
        let now = listed.filter { fixed[$0.zone] == nil }.map { Zone(name: $0.zone, primaries: z.primaries, key: z.key, catalog: z.name) }
        let before = members.withLock { m -> [Zone] in
            defer { m[z.name] = now }
            return m[z.name] ?? []
        }
        removeOrphans(store: store)
        for new in now where !before.contains(where: { $0.name == new.name }) {
            logger.info("catalog \(z.name) lists \(new.name): now a secondary zone here", metadata: ["primaries": "\(z.primaries.map(\.description).joined(separator: " "))"])
            queue(new.name, notify: false)
        }
    }

    /// Copies of catalog members that no catalog lists any more (dropped from it, also while this server was
    /// down, or the catalog left the config) are removed. Not before every consumed catalog has a copy: until
    /// then its members are unknown.
    func removeOrphans(store: ZoneStore) {
        let catalogs = configured.filter(\.isCatalog)
        guard let roles = try? store.zoneRoles(), catalogs.allSatisfy({ roles[$0.name] != nil }), let states = try? store.secondaryStates() else { return }
        let wanted = Set(configured.map(\.name))
        // Only zones a catalog brought: a secondary the configuration named is never removed here.
        for st in states where st.catalog != nil && roles[st.zone] == .secondary && !wanted.contains(st.zone) {
            do {
                try store.removeSecondaryZone(st.zone)
                logger.info("catalog \(st.catalog!) no longer lists \(st.zone): its copy is removed", metadata: [:])
            } catch {
                logger.error("catalog \(st.catalog!) no longer lists \(st.zone), but its copy cannot be removed: \(error)")
            }
        }
    }

    private func succeeded(_ z: Zone, store: ZoneStore, now: Int64, soa: SOA?) -> Int64 {
        let next = now + Int64(max(1, soa?.refresh ?? 60))  // the SOA's own timer; 1 s at least
        status.withLock { st in
            st[z.name, default: Status()].lastSuccess = now
            st[z.name, default: Status()].failures = 0
            st[z.name, default: Status()].refreshes += 1
            st[z.name, default: Status()].serial = soa?.serial
            st[z.name, default: Status()].expire = soa?.expire
            st[z.name, default: Status()].nextRefresh = next
        }
        persist(z, store: store, now: now, next: next, error: "")
        syncMembers(of: z, store: store)
        if down.snapshot().contains(z.name), soa != nil {
            var d = down.snapshot()
            d.remove(z.name)
            setDown(d)
        }
        return next
    }

    private func failed(_ z: Zone, store: ZoneStore, now: Int64, soa: SOA?, error: String) -> Int64 {
        let failures = status.withLock { st -> Int in
            st[z.name, default: Status()].failures += 1
            st[z.name, default: Status()].expire = soa?.expire
            return st[z.name]!.failures
        }
        // No copy yet: back off from 5 s to 5 minutes; with a copy, the SOA's retry interval.
        let wait = soa.map { Int64(max(1, $0.retry)) } ?? min(300, 5 << Int64(min(6, failures - 1)))
        status.withLock { $0[z.name, default: Status()].nextRefresh = now + wait }
        logger.warning("secondary zone \(z.name): no primary could be used; next try in \(wait) s: \(error)")
        persist(z, store: store, now: now, next: now + wait, error: error)
        return now + wait
    }

    private func persist(_ z: Zone, store: ZoneStore, now: Int64, next: Int64, error: String) {
        let st = status.withLock { $0[z.name] } ?? Status()
        try? store.recordRefresh(SecondaryState(zone: z.name, primaries: z.primaries.map(\.description).joined(separator: " "),
                                                lastSuccess: st.lastSuccess, lastAttempt: now, failures: st.failures, lastError: error, nextRefresh: next,
                                                catalog: z.catalog))
    }
}

#if canImport(Glibc)
import Glibc
#endif
import DNSForward
import DNSStore
import DNSWire
import DNSZone
import JamLog
import Synchronization
import SystemIO

/// Applies RFC 2136 UPDATEs on its own thread and SQLite connection, so no listener waits on a write. The
/// UPDATEs waiting together go to the store as one transaction (one fsync), each still all or nothing with
/// its own serial and journal entry; each is answered once the served zone holds it, so a client that asks
/// right after its NOERROR sees its change (certbot's challenge, Kea's next lease). UPDATEs of a secondary
/// zone are passed to its primaries as they came (RFC 2136 §6) on threads of their own.
package final class Updater: Sendable {
    struct Job: Sendable {
        var edit: UpdateEdit
        var query: UpdateQuery
        var client: IPBits
        var key: DNSName?
        var reply: LateAnswer
    }

    let path: String
    let authority: Authority
    let metrics: MetricBlock
    let logger: Logger
    /// Woken after each commit: the store watcher applies it at once.
    let committed: WakePipe?
    private let jobs = Mutex<[Job]>([])
    private let wakeup = WakePipe()
    /// Forwards in flight: each holds a thread for at most a few seconds, and no more than this many run.
    private let forwarding = Atomic<Int>(0)
    static let maxQueued = 4096
    static let maxForwarding = 16
    /// Longest an answer waits for the change to be served; past it the client is answered anyway (the
    /// change is committed) and a warning says the watcher is slow.
    static let servedWaitMs: Int64 = 2000

    package init(path: String, authority: Authority, metrics: MetricBlock, logger: Logger, committed: WakePipe? = nil) {
        self.committed = committed
        self.path = path
        self.authority = authority
        self.metrics = metrics
        self.logger = logger
    }

    /// Queues an UPDATE; false when the queue is full (the caller answers SERVFAIL at once).
    func enqueue(_ job: Job) -> Bool {
        let ok = jobs.withLock { q -> Bool in
            guard q.count < Self.maxQueued else { return false }
            q.append(job)
            return true
        }
        if ok { wakeup.wake() }
        return ok
    }

    /// Passes an UPDATE of a secondary zone to its primaries, first answer wins; the primary's answer goes
    /// back unchanged (its TSIG is the primary's, over the client's request). SERVFAIL when none answers.
    func forward(_ message: [UInt8], zone: DNSName, primaries: [UpstreamServer], reply: LateAnswer, failure: [UInt8]) {
        guard forwarding.add(1, ordering: .relaxed).newValue <= Self.maxForwarding else {
            forwarding.subtract(1, ordering: .relaxed)
            metrics.count(.updatesFailed)
            reply.deliver(failure, source: .refused)
            return
        }
        let box = UncheckedBox((self, message, zone, primaries, reply, failure))
        let t = spawnThread {
            let (me, message, zone, primaries, reply, failure) = box.value
            defer { me.forwarding.subtract(1, ordering: .relaxed) }
            for p in primaries {
                var client = PrimaryClient(server: p, key: nil)
                client.timeoutMs = 3000
                do {
                    let answer = try client.exchange(message)
                    me.metrics.count(.updatesForwarded)
                    me.logger.info("UPDATE passed to the primary", metadata: ["zone": "\(zone)", "primary": "\(p)", "rcode": "\(RCode(rawValue: UInt16(answer[3] & 0x0F)))"])
                    reply.deliver(answer, source: .forward)
                    return
                } catch {
                    me.logger.warning("UPDATE could not be passed to a primary: \(error)", metadata: ["zone": "\(zone)", "primary": "\(p)"])
                }
            }
            me.metrics.count(.updatesFailed)
            reply.deliver(failure, source: .refused)
        }
        pthread_detach(t)
    }

    func run(stop: StopFlag) {
        var store = StoreOnDemand(path: path)
        while !stop.isSet {
            wakeup.wait(ms: 200)
            let batch = jobs.withLock { q -> [Job] in
                let n = min(q.count, 256)
                defer { q.removeFirst(n) }
                return Array(q.prefix(n))
            }
            guard !batch.isEmpty else {
                store.closeIfIdle()
                continue
            }
            if !jobs.withLock({ $0.isEmpty }) { wakeup.wake() }
            let results: [UpdateResult]
            do {
                let served = authority.snapshot()
                results = try store.get().update(batch.map(\.edit)) { served.zones[$0]?.recordCount ?? 0 }
            } catch {
                logger.error("UPDATEs could not be written to the store, answered SERVFAIL: \(error)", metadata: ["updates": "\(batch.count)"])
                store.drop()
                for job in batch {
                    metrics.count(.updatesFailed)
                    job.reply.deliver(job.query.answer(.servFail), source: .refused)
                }
                continue
            }
            committed?.wake()
            waitServed(results)
            for (job, result) in zip(batch, results) {
                switch result {
                case .applied(let diff):
                    metrics.count(.updatesApplied)
                    if !diff.isEmpty {
                        logger.info("UPDATE applied", metadata: [
                            "zone": "\(diff.zone)", "serial": "\(diff.serial.map(String.init) ?? "-")", "by": "\(job.edit.source)",
                            "client": "\(job.client.text)", "added": "\(diff.added.filter { $0.type != .soa }.count)",
                            "removed": "\(diff.removed.filter { $0.type != .soa }.count)",
                        ])
                    }
                    job.reply.deliver(job.query.answer(.noError), source: .authoritative)
                case .refused(let r):
                    metrics.count(r.isPrerequisite ? .updatesFailedPrerequisite : .updatesRefused)
                    job.reply.policy.noteUpdate(job.query.request.zone, client: job.client, key: job.key, rcode: r.rcode, why: r.reason)
                    job.reply.deliver(job.query.answer(r.rcode), source: .refused)
                }
            }
        }
    }

    /// Waits until the served zones hold the serials these results committed (the store watcher applies
    /// them from the journal within milliseconds), bounded by `servedWaitMs`.
    private func waitServed(_ results: [UpdateResult]) {
        var want: [DNSName: UInt32] = [:]
        for case .applied(let d) in results where !d.isEmpty { if let s = d.serial { want[d.zone] = s } }
        guard !want.isEmpty else { return }
        let deadline = monotonicMs() + Self.servedWaitMs
        while true {
            let served = authority.snapshot()
            want = want.filter { zone, serial in
                guard let have = served.zones[zone]?.soa.serial else { return true }
                return have != serial && !serialNewer(have, than: serial)
            }
            if want.isEmpty { return }
            if monotonicMs() > deadline {
                logger.warning("UPDATE committed but not served within \(Self.servedWaitMs) ms; answering anyway", metadata: ["zones": "\(want.keys.map(\.description).joined(separator: " "))"])
                return
            }
            usleep(1000)
        }
    }
}

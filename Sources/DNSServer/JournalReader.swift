#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import DNSWire
import DNSZone
import JamLog
import Synchronization
import SystemIO

/// Reads IXFR differences from the store's journal on its own thread and SQLite connection, so a transfer's
/// reads never hold up the TCP loop (which serves every other TCP client meanwhile).
final class JournalReader: Sendable {
    struct Job: Sendable {
        var zone: DNSName
        var from: UInt32
        var to: UInt32
        var maxRecords: Int
        var done: @Sendable ([SerialDiff]?) -> Void
    }

    let path: String
    let logger: Logger
    private let jobs = Mutex<[Job]>([])
    private let wakeup = WakePipe()

    init(path: String, logger: Logger) {
        self.path = path
        self.logger = logger
    }

    /// Queues a read; `done` runs on the reader's thread with the differences, or nil when the journal does
    /// not reach (or cannot be read): the transfer is then sent whole.
    func enqueue(_ job: Job) {
        jobs.withLock { $0.append(job) }
        wakeup.wake()
    }

    func run(stop: StopFlag) {
        var store = StoreOnDemand(path: path)
        while !stop.isSet {
            wakeup.wait(ms: 200)
            let batch = jobs.withLock { q -> [Job] in defer { q.removeAll() }; return q }
            if batch.isEmpty {
                store.closeIfIdle()
                continue
            }
            for job in batch {
                var diffs: [SerialDiff]?
                do {
                    diffs = try store.get().journalDiffs(zone: job.zone, from: job.from, to: job.to, maxRecords: job.maxRecords)
                } catch {
                    logger.error("IXFR journal read failed, sending the zone whole: \(error)", metadata: ["zone": "\(job.zone)"])
                    store.drop()
                }
                job.done(diffs)
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import DNSZone
import SystemIO

/// A producer's records on their way into an import. The producer runs on a thread of its own and hands each
/// batch over (a few at most wait, so a fast producer does not fill memory); for a new zone that thread also
/// adds each batch to the zone checks once handed over, and runs the checks when the records end.
final class ImportStream {
    enum Item: Sendable {
        case batch([ResourceRecord])
        /// The builder's changes by record index (nil: dropped) and the checks' problems.
        case done(changed: [Int: ResourceRecord?], problems: [ZoneProblem])
        case failed(StoreError)
    }

    private let queue = BoundedQueue<Item>(capacity: 4)
    private var thread: pthread_t?
    private var end: Item?

    init(origin: DNSName, checking: Bool, produce: @escaping ZoneStore.RecordProducer) {
        let queue = self.queue
        thread = spawnThread {
            var builder = checking ? ZoneBuilder(origin: origin) : nil
            var changed: [Int: ResourceRecord?] = [:], count = 0
            do throws(StoreError) {
                try produce { (batch) throws(StoreError) in
                    // Handed over first: the writer starts on it while the checks take it in.
                    guard queue.put(.batch(batch)) else { throw StoreError(.rejected, "the import was stopped") }
                    builder?.add(contentsOf: batch, numberedFrom: count) { i, kept in changed[i] = kept }
                    count += batch.count
                }
                _ = queue.put(.done(changed: changed, problems: builder?.checkPart { _ in false } ?? []))
            } catch {
                _ = queue.put(.failed(error))
            }
        }
    }

    deinit { close() }

    /// The next batch; nil once the producer is done. Throws the producer's error.
    func next() throws(StoreError) -> [ResourceRecord]? {
        guard end == nil else { return nil }
        let item = queue.take()
        switch item {
        case .batch(let b): return b
        case .done: end = item
        case .failed(let e): end = item; throw e
        }
        return nil
    }

    /// Every record still to come, in one array.
    func all() throws(StoreError) -> [ResourceRecord] {
        var out: [ResourceRecord] = []
        while let b = try next() { if out.isEmpty { out = b } else { out += b } }
        return out
    }

    /// The checks' outcome (for a stream that was not `checking`: nothing changed, no problems), once the
    /// records are taken; any left are skipped.
    func outcome() throws(StoreError) -> (changed: [Int: ResourceRecord?], problems: [ZoneProblem]) {
        while try next() != nil {}
        switch end {
        case .done(let changed, let problems): return (changed, problems)
        case .failed(let e): throw e
        default: return ([:], [])  // not reached: next() returns nil only at the end
        }
    }

    /// Stops the producer if it is still going, and waits for its thread.
    func close() {
        guard let t = thread else { return }
        queue.cancel()
        pthread_join(t, nil)
        thread = nil
    }
}

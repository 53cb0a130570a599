#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import DNSZone
import SystemIO

/// A producer's records on their way into an import, on two threads of their own: the producer's, which hands
/// each batch to the writer and to the checks, and the checks', which adds each batch to a ZoneBuilder and runs
/// the zone checks once the records end. So parsing, checking and writing overlap; a few batches at most wait
/// in each queue, so a fast producer does not fill memory.
final class ImportStream {
    enum Item: Sendable {
        case batch([ResourceRecord])
        case end
        case failed(StoreError)
    }

    /// The builder's changes by record index (nil: dropped) and the problems the checks found.
    typealias Outcome = (changed: [Int: ResourceRecord?], problems: [ZoneProblem])

    private let toWriter = BoundedQueue<Item>(capacity: 4)
    private let toChecks = BoundedQueue<Item>(capacity: 4)
    private let checked = Handoff<Outcome>()
    private var threads: [pthread_t] = []
    private var ended = false
    /// Every record `next` has handed out, in order: the import's whole list once the stream has ended.
    private(set) var taken: [ResourceRecord] = []

    init(origin: DNSName, produce: @escaping ZoneStore.RecordProducer) {
        let (toWriter, toChecks, checked) = (self.toWriter, self.toChecks, self.checked)
        threads.append(spawnThread {
            do throws(StoreError) {
                try produce { (batch) throws(StoreError) in
                    guard toWriter.put(.batch(batch)), toChecks.put(.batch(batch)) else { throw StoreError(.rejected, "the import was stopped") }
                }
                _ = toChecks.put(.end)
                _ = toWriter.put(.end)
            } catch {
                toChecks.cancel()  // nothing to check
                _ = toWriter.put(.failed(error))
            }
        })
        threads.append(spawnThread {
            var builder: ZoneBuilder? = ZoneBuilder(origin: origin)
            var changed: [Int: ResourceRecord?] = [:], count = 0
            while let item = toChecks.take() {
                guard case .batch(let batch) = item else {
                    let problems = builder!.checkPart { _ in false }
                    // Freed before the outcome is told: a re-import then sorts the records' keys, and the peak is
                    // the records with the checks' zone or with the keys, not with both.
                    builder = nil
                    checked.put((changed, problems))
                    return
                }
                builder!.add(contentsOf: batch, numberedFrom: count) { i, kept in changed[i] = kept }
                count += batch.count
            }
        })
    }

    deinit { close() }

    /// The next batch (added to `taken`); nil once the producer is done. Throws the producer's error.
    func next() throws(StoreError) -> [ResourceRecord]? {
        guard !ended else { return nil }
        switch toWriter.take() {
        case .batch(let b)?:
            if taken.isEmpty { taken = b } else { taken += b }  // one batch (an array import): no copy
            return b
        case .failed(let e)?:
            ended = true
            throw e
        case .end?, nil:
            ended = true
            return nil
        }
    }

    /// The checks' outcome, once every record is taken (into `taken`).
    func outcome() throws(StoreError) -> Outcome {
        while try next() != nil {}
        return checked.take()
    }

    /// Stops both threads if they are still going, and waits for them.
    func close() {
        toWriter.cancel()
        toChecks.cancel()
        for t in threads { pthread_join(t, nil) }
        threads = []
    }
}

#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Values handed from one producing thread to one consuming thread, in order, with at most `capacity` waiting:
/// a producer that runs ahead blocks instead of filling memory (a zone file parsed beside its import). The
/// consumer may `cancel`, after which every `put` refuses at once, so a producer never blocks on a consumer
/// that has stopped taking.
public final class BoundedQueue<T: Sendable>: Sendable {
    private struct Ring: ~Copyable {
        var items: [T?]
        var head = 0, count = 0, cancelled = false
    }
    private let ring: Mutex<Ring>
    private let capacity: Int
    /// Free places (the producer waits on it) and waiting values (the consumer waits on it).
    private nonisolated(unsafe) let free = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
    private nonisolated(unsafe) let filled = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        ring = Mutex(Ring(items: Array(repeating: nil, count: capacity)))
        sem_init(free, 0, UInt32(capacity))
        sem_init(filled, 0, 0)
    }

    deinit {
        sem_destroy(free)
        sem_destroy(filled)
        free.deallocate()
        filled.deallocate()
    }

    /// Waits for a free place and appends `value`; false (the value dropped) once the consumer has cancelled.
    public func put(_ value: sending T) -> Bool {
        while sem_wait(free) != 0 {}  // EINTR: wait again
        let capacity = self.capacity
        let accepted = ring.withLock { r -> Bool in
            if r.cancelled { return false }
            r.items[(r.head + r.count) % capacity] = value
            r.count += 1
            return true
        }
        // A refused put hands its place on, so that a later put refuses at once too.
        sem_post(accepted ? filled : free)
        return accepted
    }

    /// Waits for the next value.
    public func take() -> T {
        while sem_wait(filled) != 0 {}
        let capacity = self.capacity
        let value = ring.withLock { r -> T in
            let v = r.items[r.head]!
            r.items[r.head] = nil
            r.head = (r.head + 1) % capacity
            r.count -= 1
            return v
        }
        sem_post(free)
        return value
    }

    /// Stops the stream from the consumer's side: what waits is dropped, and a blocked or later `put` returns false.
    public func cancel() {
        ring.withLock { r in
            r.cancelled = true
            for i in r.items.indices { r.items[i] = nil }
            r.count = 0
        }
        sem_post(free)
    }
}

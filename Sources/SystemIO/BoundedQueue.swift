#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Values handed from one producing thread to one consuming thread, in order, with at most `capacity` waiting:
/// a producer that runs ahead blocks instead of filling memory (a zone file parsed beside its import). Either
/// side may `cancel`: then every `put` refuses and every `take` returns nil at once, so neither side blocks on
/// one that has stopped.
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

    /// Waits for a free place and appends `value`; false (the value dropped) once the queue is cancelled.
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

    /// Waits for the next value; nil once the queue is cancelled.
    public func take() -> T? {
        while sem_wait(filled) != 0 {}
        let capacity = self.capacity
        let value = ring.withLock { r -> T? in
            if r.cancelled { return nil }
            let v = r.items[r.head]
            r.items[r.head] = nil
            r.head = (r.head + 1) % capacity
            r.count -= 1
            return v
        }
        // A cancelled take hands its wake-up on, as a refused put does.
        sem_post(value == nil ? filled : free)
        return value
    }

    /// Stops the stream: what waits is dropped, a blocked or later `put` returns false and a blocked or later
    /// `take` nil.
    public func cancel() {
        ring.withLock { r in
            r.cancelled = true
            for i in r.items.indices { r.items[i] = nil }
            r.count = 0
        }
        sem_post(free)
        sem_post(filled)
    }
}

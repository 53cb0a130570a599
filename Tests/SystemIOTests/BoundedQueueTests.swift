import Synchronization
import SystemIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite struct BoundedQueueTests {
    @Test("values cross threads in order, with the producer held to the queue's capacity")
    func orderAndBound() {
        let q = BoundedQueue<Int>(capacity: 2)
        let produced = Atomic<Int>(0)
        let t = spawnThread {
            for i in 0..<5_000 {
                #expect(q.put(i))
                produced.add(1, ordering: .sequentiallyConsistent)
            }
        }
        var got: [Int] = []
        for i in 0..<5_000 {
            // Taken values plus those waiting plus the one a put may be placing: the bound, whatever the timing.
            #expect(produced.load(ordering: .sequentiallyConsistent) <= i + 2)
            if let v = q.take() { got.append(v) }
        }
        pthread_join(t, nil)
        #expect(got == Array(0..<5_000))
    }

    @Test("cancel releases a producer blocked on a full queue, and every later put refuses")
    func cancelReleasesProducer() {
        let q = BoundedQueue<[Int]>(capacity: 1)
        let refused = Handoff<Int>()
        let t = spawnThread {
            var accepted = 0
            for i in 0..<100 {
                if !q.put([i]) { break }
                accepted += 1
            }
            refused.put(accepted)
        }
        #expect(q.take() == [0])  // the producer has run; it fills the one place and blocks on the next
        q.cancel()
        let accepted = refused.take()  // returns only once the blocked put gave up
        pthread_join(t, nil)
        #expect(accepted >= 1 && accepted <= 2, "\(accepted)")
        #expect(!q.put([7]) && !q.put([8]))
        #expect(q.take() == nil && q.take() == nil)
    }

    @Test("cancel releases a consumer blocked on an empty queue, and every later take returns nil")
    func cancelReleasesConsumer() {
        let q = BoundedQueue<Int>(capacity: 3)
        let started = Handoff<Bool>(), got = Handoff<Int?>()
        let t = spawnThread {
            started.put(true)
            got.put(q.take())
        }
        _ = started.take()
        q.cancel()  // whether the take is already waiting or not, it ends with nil
        #expect(got.take() == nil)
        pthread_join(t, nil)
        #expect(q.take() == nil && !q.put(1))
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// Monotonic milliseconds, for timeouts and cache ages.
public func monotonicMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Monotonic microseconds, for latencies.
@inline(__always) public func monotonicUs() -> Int {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
}

/// Wall-clock milliseconds, for log timestamps and the start time.
public func wallMs() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

/// Starts `body` on a thread of its own (listeners, the store watcher, the query log): a server that cannot
/// get its threads cannot run, so a refusal traps with the reason.
@discardableResult
public func spawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    guard let t = trySpawnThread(body) else { preconditionFailure("pthread_create failed: \(String(cString: strerror(errno)))") }
    return t
}

/// One value handed from one thread to another, the taker blocking until it is put: a start-up step run on
/// the thread that will own its result. Put once, taken once. (The semaphore orders the value's write before
/// its read.)
public final class Handoff<T>: @unchecked Sendable {
    private var value: T?
    private let ready = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)

    public init() { sem_init(ready, 0, 0) }
    deinit {
        sem_destroy(ready)
        ready.deallocate()
    }

    public func put(_ v: T) {
        value = v
        sem_post(ready)
    }

    public func take() -> T {
        while sem_wait(ready) != 0 {}  // EINTR: wait again
        defer { value = nil }
        return value!
    }
}

/// The same, for callers that can refuse the work instead (the forwarder, the metrics endpoint): nil when
/// the system refuses a thread, with the error number in `errno`.
public func trySpawnThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
    final class Box: @unchecked Sendable {  // handed to the new thread once, never shared after
        let body: @Sendable () -> Void
        init(_ b: @escaping @Sendable () -> Void) { body = b }
    }
    var tid = pthread_t()
    let ctx = Unmanaged.passRetained(Box(body)).toOpaque()
    let rc = pthread_create(&tid, nil, { arg in
        let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
        box.body()
        return nil
    }, ctx)
    guard rc == 0 else {
        Unmanaged<AnyObject>.fromOpaque(ctx).release()
        errno = rc
        return nil
    }
    return tid
}

import DNSZone
import Synchronization

/// Holds the catalog being served. Readers take the current snapshot (a reference copy under a short lock)
/// and then work without locks; the reloader swaps in a whole new catalog (Knot's RCU swap, point 8).
public final class Authority: Sendable {
    private let current: Mutex<Catalog>

    public init(_ catalog: Catalog) { current = Mutex(catalog) }

    public func snapshot() -> Catalog { current.withLock { $0 } }

    public func replace(with new: Catalog) { current.withLock { $0 = new } }
}

/// A stop flag shared by every thread of the server.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .acquiring) }
    public func set() { flag.store(true, ordering: .releasing) }
}

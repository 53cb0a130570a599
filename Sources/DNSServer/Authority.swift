import DNSZone
import Synchronization

/// Holds a value readers take whole and a writer replaces whole: the catalog being served, the policy in
/// effect, the address /healthz asks. Readers take the current snapshot (a reference copy under a short lock)
/// and then work without locks; the writer swaps in a whole new value (Knot's RCU swap, point 8).
public final class Current<Value: Sendable>: Sendable {
    private let current: Mutex<Value>

    public init(_ value: Value) { current = Mutex(value) }

    public func snapshot() -> Value { current.withLock { $0 } }

    public func replace(with new: Value) { current.withLock { $0 = new } }
}

/// The catalog being served.
public typealias Authority = Current<Catalog>

/// A stop flag shared by every thread of the server.
public final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    public init() {}
    public var isSet: Bool { flag.load(ordering: .acquiring) }
    public func set() { flag.store(true, ordering: .releasing) }
}

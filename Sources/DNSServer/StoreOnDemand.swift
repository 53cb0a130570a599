import DNSStore
import SystemIO

/// A store connection opened when needed and closed after `idleCloseMs` unused: with the last
/// connection closed SQLite is unmapped, and the UPDATE writer, the IXFR reader and the secondary-zone
/// refresher need the store only now and then. Confined to its owner's thread, like the connection.
struct StoreOnDemand {
    /// How long a connection with nothing to do is kept.
    static let idleCloseMs: Int64 = 1000

    let path: String
    private var open: ZoneStore?
    private var lastUse = monotonicMs()

    init(path: String) { self.path = path }

    /// The connection, opened if it is not.
    mutating func get() throws(StoreError) -> ZoneStore {
        lastUse = monotonicMs()
        if let s = open { return s }
        let s = try ZoneStore(path: path)
        open = s
        return s
    }

    /// After an error: the next `get` opens a fresh connection.
    mutating func drop() { open = nil }

    /// Closes the connection if it has not been used for `idleCloseMs`.
    mutating func closeIfIdle() {
        if open != nil && monotonicMs() - lastUse >= Self.idleCloseMs { open = nil }
    }
}

import DNSStore
import SystemIO

/// A store connection opened when needed and closed after `ZoneStore.idleCloseMs` unused: with the last
/// connection closed SQLite is unmapped, and the UPDATE writer, the IXFR reader and the secondary-zone
/// refresher need the store only now and then. Confined to its owner's thread, like the connection.
struct StoreOnDemand {
    let path: String
    private var open: ZoneStore?
    private var lastUse = monotonicMs()

    init(path: String, open: ZoneStore? = nil) {
        self.path = path
        self.open = open
    }

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

    /// Closes the connection if it has not been used for `ZoneStore.idleCloseMs`.
    mutating func closeIfIdle() {
        if open != nil && monotonicMs() - lastUse >= ZoneStore.idleCloseMs { open = nil }
    }
}

import Testing
@testable import DNSStore

#if canImport(Glibc)
import Glibc
#endif

/// The store will hold TSIG secrets: its files are never readable by others.
@Suite struct ZoneStoreModeTests {
    func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : 0
    }

    @Test("a new store, its -wal and -shm are created owner read-write, group read")
    func newStore() throws {
        let path = tempPath("mode-new")
        let store = try ZoneStore(path: path)
        _ = try store.zones()
        #expect(mode(path) == 0o640 && store.modeTightened == nil)
        for side in ["-wal", "-shm"] where access(path + side, F_OK) == 0 {
            #expect(mode(path + side) == 0o640, "\(side)")
        }
    }

    @Test("an existing world-readable store is tightened on open, and the open says so once")
    func existingStore() throws {
        let path = tempPath("mode-old")
        do { _ = try ZoneStore(path: path) }
        #expect(chmod(path, 0o666) == 0)
        let store = try ZoneStore(path: path)
        #expect(mode(path) == 0o640)
        let said = try #require(store.modeTightened)
        #expect(said.contains(path) && said.contains("666 -> 640"), "\(said)")
        #expect(try ZoneStore(path: path).modeTightened == nil, "nothing left to say")
        // A read-only open (another user's dnsctl) changes nothing.
        #expect(chmod(path, 0o644) == 0)
        _ = try ZoneStore(path: path, readOnly: true)
        #expect(mode(path) == 0o644)
    }
}

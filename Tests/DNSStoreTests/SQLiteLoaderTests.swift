import DNSWire
import Synchronization
import SystemIO
import Testing
@testable import DNSStore

#if canImport(Glibc)
import Glibc
#endif

/// SQLite is opened with a process's first connection and closed with its last (Sources/CSQLite). The server
/// opens and closes connections from several threads (store watcher, UPDATE writer, IXFR reader, secondaries),
/// so the library is loaded and unloaded while other threads open theirs.
@Suite struct SQLiteLoaderTests {
    @Test("four threads open, read and close the store 50 times each at once: every connection works while SQLite is loaded and unloaded around them")
    func connectionsFromThreads() throws {
        let path = try ZoneStoreTests().store().db.path
        let failures = Mutex<[String]>([])
        var threads: [pthread_t] = []
        for t in 0..<4 {
            threads.append(spawnThread {
                for i in 0..<50 {
                    do {
                        // Writers and readers alike: every other connection edits, as the UPDATE writer does.
                        let s = try ZoneStore(path: path)
                        if i % 2 == 0 {
                            let owner = try DNSName("t\(t)-\(i).jamfox.dev.")
                            let record = ResourceRecord(name: owner, type: .a, ttl: 60, rdata: .a(IPv4Address(10, 0, UInt8(t), UInt8(i))))
                            _ = try s.edit(zone: ZoneStoreTests.origin, names: [owner]) { (records: inout [ResourceRecord]) in records.append(record) }
                        }
                        let n = try s.records(zone: ZoneStoreTests.origin).count
                        if n < 6 { failures.withLock { $0.append("thread \(t), round \(i): \(n) records") } }
                    } catch {
                        failures.withLock { $0.append("thread \(t), round \(i): \(error)") }
                    }
                }
            })
        }
        for th in threads { pthread_join(th, nil) }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 }.prefix(5))")
        #expect(try ZoneStore(path: path).records(zone: ZoneStoreTests.origin).count == 6 + 4 * 25, "every edit kept")
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CSys

/// Hands freed heap pages back to the kernel. glibc keeps what a dropped catalog used (a zone's worth per
/// edit at a million records) unless asked, so RSS would climb with every edit although nothing leaks.
func releaseFreedMemory() { _ = jam_malloc_trim() }

/// Zero-filled memory straight from the kernel (an anonymous mapping): nothing is written to clear it, so a
/// page takes RAM only once it is used. For large tables and buffers of which a quiet server touches a
/// corner: calloc would give the same only while malloc happens to serve the size by mmap.
final class ZeroedMemory: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let count: Int

    init(count: Int) {
        let p = mmap(nil, count, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let p, p != MAP_FAILED else { fatalError("cannot map \(count) bytes: \(String(cString: strerror(errno)))") }
        base = p
        self.count = count
    }

    deinit { munmap(base, count) }

    var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: base, count: count) }
}

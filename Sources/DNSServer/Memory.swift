import CSys

/// Hands freed heap pages back to the kernel. glibc keeps what a dropped catalog used (a zone's worth per
/// edit at a million records) unless asked, so RSS would climb with every edit although nothing leaks.
func releaseFreedMemory() { _ = jam_malloc_trim() }

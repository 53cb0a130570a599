#if canImport(Glibc)
import Glibc
#endif

/// The SOA serial policy: date-based while that moves forward, else +1 (RFC 1982 arithmetic).
extension ZoneStore {
    /// RFC 1982 serial comparison: a is "greater" than b.
    public static func serialGreater(_ a: UInt32, _ b: UInt32) -> Bool {
        a != b && ((a > b && a - b < 0x8000_0000) || (a < b && b - a > 0x8000_0000))
    }

    /// Date-based YYYYMMDDnn while that is ahead of the old serial; otherwise old + 1 (wrapping per RFC 1982).
    public static func nextSerial(after old: UInt32, now: Int64) -> UInt32 {
        var t = time_t(now)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        let dated = UInt64(tmv.tm_year + 1900) * 1_000_000 + UInt64(tmv.tm_mon + 1) * 10_000 + UInt64(tmv.tm_mday) * 100
        if dated <= UInt64(UInt32.max), serialGreater(UInt32(dated), old) { return UInt32(dated) }
        return old &+ 1
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// jamdns's log: leveled lines on standard error, which systemd hands to the journal.
///
/// Written here rather than taken from swift-log: swift-log's `Logger` reads a task-local, which links the
/// Swift concurrency runtime and libdispatch into jamdns (about 200 KB of resident memory at start, and
/// neither is otherwise used). This is the part of its API jamdns used, and its line format:
/// `2026-12-07T05:25:33+0000 info jamdns: records=12 zone=lab. seeded zone`.
public struct Logger: Sendable {
    public enum Level: String, Sendable, CaseIterable, Comparable {
        case trace, debug, info, notice, warning, error, critical

        public static func < (a: Level, b: Level) -> Bool { a.rank < b.rank }
        var rank: Int { Level.allCases.firstIndex(of: self)! }
    }

    /// Key-value pairs printed before the message, sorted by key (`zone=lab.`).
    public typealias Metadata = [String: String]

    public let label: String
    /// Lines below this level are not formatted at all (the message is an autoclosure).
    public var logLevel: Level
    /// Where lines go: standard error unless a test asks otherwise.
    let fd: Int32

    public init(label: String, level: Level = .info, fd: Int32 = 2) {
        self.label = label
        self.logLevel = level
        self.fd = fd
    }

    public func log(level: Level, _ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) {
        guard level >= logLevel else { return }
        var line = Self.timestamp() + " " + level.rawValue + " " + label + ":"
        if let m = metadata(), !m.isEmpty {
            for (k, v) in m.sorted(by: { $0.key < $1.key }) { line += " " + k + "=" + v }
        }
        line += " " + message() + "\n"
        // One write per line (the loop only finishes a short write): lines from several threads do not mix.
        let bytes = Array(line.utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { break }
        }
    }

    public func trace(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) { log(level: .trace, message(), metadata: metadata()) }
    public func debug(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) { log(level: .debug, message(), metadata: metadata()) }
    public func info(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) { log(level: .info, message(), metadata: metadata()) }
    public func notice(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) { log(level: .notice, message(), metadata: metadata()) }
    public func warning(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) { log(level: .warning, message(), metadata: metadata()) }
    public func error(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) { log(level: .error, message(), metadata: metadata()) }
    public func critical(_ message: @autoclosure () -> String, metadata: @autoclosure () -> Metadata? = nil) { log(level: .critical, message(), metadata: metadata()) }

    /// Local time with its UTC offset, to the second.
    static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buf = [CChar](repeating: 0, count: 32)
        let n = strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

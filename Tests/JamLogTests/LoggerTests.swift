#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import JamLog

@Suite struct LoggerTests {
    /// Lines written to a temporary file (a pipe would fill and block the writers), read back whole.
    func written(_ body: (Logger) -> Void, level: Logger.Level = .info) -> [String] {
        var template = Array("/tmp/jamlog-test-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        #expect(fd >= 0)
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        body(Logger(label: "jamdns", level: level, fd: fd))
        lseek(fd, 0, SEEK_SET)
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n <= 0 { break }
            out += buf[0..<n]
        }
        close(fd)
        return String(decoding: out, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func lineFormat() {
        let lines = written { $0.info("zones loaded", metadata: ["zones": "3", "by": "key kea."]) }
        #expect(lines.count == 2 && lines[1].isEmpty, "one line, newline-terminated: \(lines)")
        // 2026-12-07T05:25:33+0000 info jamdns: by=key kea. zones=3 zones loaded
        let parts = lines[0].split(separator: " ", maxSplits: 1).map(String.init)
        #expect(parts.count == 2)
        #expect(parts[0].count == 24 && parts[0].dropFirst(4).first == "-" && parts[0].dropFirst(10).first == "T", "ISO 8601 with offset: \(parts[0])")
        #expect(parts[1] == "info jamdns: by=key kea. zones=3 zones loaded", "metadata sorted by key before the message: \(parts[1])")
    }

    @Test func levelsBelowTheThresholdAreNotFormatted() {
        var evaluated = 0
        func message(_ s: String) -> String { evaluated += 1; return s }
        let lines = written({ log in
            log.debug(message("hidden"))
            log.info(message("shown"), metadata: nil)
            log.warning(message("also shown"), metadata: [:])
            log.critical(message("critical"))
        }, level: .info)
        #expect(evaluated == 3, "the debug message was built although debug is off")
        #expect(lines.filter { !$0.isEmpty }.map { String($0.split(separator: " ", maxSplits: 1)[1]) }
                == ["info jamdns: shown", "warning jamdns: also shown", "critical jamdns: critical"])
    }

    @Test func levelOrderAndNames() {
        #expect(Logger.Level.allCases.map(\.rawValue) == ["trace", "debug", "info", "notice", "warning", "error", "critical"])
        #expect(Logger.Level.trace < .debug && .error < .critical && !(Logger.Level.info < .info))
        #expect(Logger.Level(rawValue: "warning") == .warning && Logger.Level(rawValue: "warn") == nil)
        let all = written({ log in for l in Logger.Level.allCases { log.log(level: l, l.rawValue) } }, level: .trace)
        #expect(all.filter { !$0.isEmpty }.count == 7)
    }

    /// Several threads logging at once: every line arrives whole (one write per line).
    @Test func linesFromThreadsDoNotInterleave() {
        let lines = written { log in
            var threads: [pthread_t] = []
            final class Box: @unchecked Sendable { let log: Logger; init(_ l: Logger) { log = l } }
            for t in 0..<4 {
                var th = pthread_t()
                let box = Unmanaged.passRetained(Box(log)).toOpaque()
                let rc = pthread_create(&th, nil, { arg in
                    let b = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
                    for i in 0..<200 { b.log.info(String(repeating: "x", count: 100) + " \(i)") }
                    return nil
                }, box)
                #expect(rc == 0, "thread \(t)")
                threads.append(th)
            }
            for th in threads { pthread_join(th, nil) }
        }
        let full = lines.filter { !$0.isEmpty }
        #expect(full.count == 800)
        #expect(full.allSatisfy { $0.contains(" info jamdns: " + String(repeating: "x", count: 100) + " ") }, "a line was split or mixed")
    }
}

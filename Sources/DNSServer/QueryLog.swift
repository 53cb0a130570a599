#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import Synchronization
import SystemIO

/// [log] query_log: one line per answered query (time, client, name, type, rcode, source, transport, latency)
/// written by its own thread. The query path only appends to a bounded queue: when the writer falls behind,
/// lines are dropped and counted, never queued without bound. The file is rotated to `<path>.1` when it
/// passes `maxBytes`, so at most twice that is ever on disk.
package final class QueryLog: Sendable {
    struct Entry: Sendable {
        var timeMs: Int64
        var client: [UInt8]
        var name: [UInt8]  // wire form
        var qtype: UInt16
        var rcode: UInt8
        var source: AnswerSource
        var tcp: Bool
        var latencyUs: Int
    }

    static let queueLimit = 16_384
    let path: String
    let maxBytes: Int
    private let queue = Mutex<[Entry]>([])
    private let stopped = Atomic<Bool>(false)
    private let thread = Mutex<pthread_t?>(nil)

    init(path: String, maxBytes: Int) {
        self.path = path
        self.maxBytes = maxBytes
    }

    /// Queues a line; false if the queue is full (the caller counts the drop).
    func append(_ e: Entry) -> Bool {
        queue.withLock { q in
            guard q.count < Self.queueLimit else { return false }
            q.append(e)
            return true
        }
    }

    func start() {
        let t = spawnThread { [self] in run() }
        thread.withLock { $0 = t }
    }

    /// Writes what is queued and stops the writer.
    func stop() {
        stopped.store(true, ordering: .releasing)
        if let t = thread.withLock({ $0 }) { pthread_join(t, nil) }
    }

    func run() {
        var file: UnsafeMutablePointer<FILE>? = nil
        var size = 0
        func open() {
            if path == "-" { file = fdopen(dup(1), "w"); return }
            file = fopen(path, "a")
            if let f = file { size = ftell(f) }
        }
        open()
        while true {
            let done = stopped.load(ordering: .acquiring)
            let batch = queue.withLock { q in
                let b = q
                q.removeAll(keepingCapacity: true)
                return b
            }
            if let f = file {
                var text = ""
                for e in batch { text += Self.line(e) }
                size += text.utf8.count
                _ = fputs(text, f)
                fflush(f)
                if path != "-" && size > maxBytes {
                    fclose(f)
                    rename(path, path + ".1")
                    size = 0
                    open()
                }
            } else if !batch.isEmpty {
                open()  // the directory may appear later; until then lines are lost
            }
            if done { break }
            usleep(200_000)
        }
        if let f = file, path != "-" { fclose(f) }
    }

    static func line(_ e: Entry) -> String {
        let secs = e.timeMs / 1000
        var t = time_t(secs)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        let stamp = "\(tmv.tm_year + 1900)-\(pad(tmv.tm_mon + 1, 2))-\(pad(tmv.tm_mday, 2))T\(pad(tmv.tm_hour, 2)):\(pad(tmv.tm_min, 2)):\(pad(tmv.tm_sec, 2)).\(pad(Int32(e.timeMs % 1000), 3))Z"
        return "\(stamp) client=\(clientText(e.client)) name=\(nameText(e.name)) type=\(RRType(e.qtype)) rcode=\(RCode(rawValue: UInt16(e.rcode))) source=\(e.source.label) transport=\(e.tcp ? "tcp" : "udp") latency_us=\(e.latencyUs)\n"
    }

    static func clientText(_ ip: [UInt8]) -> String {
        if ip.count == 4 { return ip.map(String.init).joined(separator: ".") }
        if ip.count == 16 {
            var buf = [CChar](repeating: 0, count: 64)
            var a = in6_addr()
            withUnsafeMutableBytes(of: &a) { for i in 0..<16 { $0[i] = ip[i] } }
            inet_ntop(AF_INET6, &a, &buf, 64)
            return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }
        return "?"
    }

    /// Presentation form with RFC 1035 escapes, so a hostile name cannot forge log fields or lines.
    static func nameText(_ wire: [UInt8]) -> String {
        guard !wire.isEmpty else { return "?" }
        if wire == [0] { return "." }
        var out = ""
        var i = 0
        while i < wire.count, wire[i] != 0 {
            let l = Int(wire[i])
            guard i + l < wire.count else { return out + "?" }
            for b in wire[(i + 1)...(i + l)] {
                switch b {
                case UInt8(ascii: "."), UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "="): out += "\\" + String(UnicodeScalar(b))
                case 0x21...0x7E: out.append(Character(UnicodeScalar(b)))
                default:
                    let d = String(b)
                    out += "\\" + String(repeating: "0", count: 3 - d.count) + d
                }
            }
            out += "."
            i += l + 1
        }
        return out
    }
}

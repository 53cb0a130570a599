import DNSTSIG
import DNSWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A primary that misbehaves on purpose, for the secondary's hostile-input tests: it answers SOA queries over
/// UDP and sends transfers over TCP exactly as `mode` says (well, truncated, with a record outside the zone,
/// with a serial going backwards, signed with a stale time). Bound to port 0 on loopback: the kernel picks the
/// port, nothing is probed. Threads stop with `stop()`.
final class FakePrimary: @unchecked Sendable {
    enum Mode: Sendable, Equatable {
        case good(serial: UInt32, address: UInt8)
        /// The SOA says `serial`; the stream stops after its first message.
        case truncated(serial: UInt32)
        /// A record of another zone inside the transfer.
        case outOfZone(serial: UInt32)
        /// The SOA query says `advertised`; the transfer carries `sent` (older than the copy's).
        case backwards(advertised: UInt32, sent: UInt32)
        /// Every message signed an hour ago: outside the fudge.
        case staleSignature(serial: UInt32)
    }

    let zone = try! DNSName("hostile.test.")
    let port: UInt16
    let key: TSIGKey?
    private let mode: Mutex<Mode>
    private let tcp: Int32
    private let udp: Int32
    private let stopped = Atomic<Bool>(false)
    private var threads: [pthread_t] = []
    let transfers = Atomic<Int>(0)

    init(mode: Mode, key: TSIGKey?) throws {
        self.mode = Mutex(mode)
        self.key = key
        var pair: (Int32, Int32, UInt16)?
        for _ in 0..<5 where pair == nil { pair = try? Self.bindPair() }
        guard let (t, u, bound) = pair else { throw TestFailure("the fake primary found no TCP and UDP port pair on loopback") }
        tcp = t
        udp = u
        port = bound
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(udp, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(tcp, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let box = UncheckedSelf(self)
        threads.append(Self.spawn { box.value.serveUDP() })
        threads.append(Self.spawn { box.value.serveTCP() })
    }

    /// A TCP socket on a kernel-chosen loopback port, listening, and a UDP socket on the same number.
    static func bindPair() throws -> (Int32, Int32, UInt16) {
        let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &sin, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcp, $0, len) } }) == 0, listen(tcp, 8) == 0 else {
            throw TestFailure("the fake primary cannot bind loopback")
        }
        _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(tcp, $0, &len) } }
        guard withUnsafePointer(to: &sin, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udp, $0, len) } }) == 0 else {
            close(tcp)
            close(udp)
            throw TestFailure("the fake primary's UDP port \(UInt16(bigEndian: sin.sin_port)) is taken; rerun")
        }
        return (tcp, udp, UInt16(bigEndian: sin.sin_port))
    }

    struct UncheckedSelf: @unchecked Sendable { let value: FakePrimary; init(_ v: FakePrimary) { value = v } }

    static func spawn(_ body: @escaping @Sendable () -> Void) -> pthread_t {
        final class Box { let f: @Sendable () -> Void; init(_ f: @escaping @Sendable () -> Void) { self.f = f } }
        var t = pthread_t()
        let arg = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(&t, nil, { p in
            let b = Unmanaged<Box>.fromOpaque(p!).takeRetainedValue()
            b.f()
            return nil
        }, arg)
        return t
    }

    func set(_ m: Mode) { mode.withLock { $0 = m } }

    func stop() {
        stopped.store(true, ordering: .releasing)
        for t in threads { pthread_join(t, nil) }
        close(tcp)
        close(udp)
    }

    func soa(_ serial: UInt32) -> ResourceRecord {
        ResourceRecord(name: zone, type: .soa, ttl: 300, rdata: .soa(SOA(mname: try! DNSName("ns1.hostile.test."), rname: try! DNSName("h.hostile.test."),
                                                                        serial: serial, refresh: 3600, retry: 1, expire: 86400, minimum: 60)))
    }

    func a(_ name: String, _ last: UInt8) -> ResourceRecord {
        ResourceRecord(name: try! DNSName(name), type: .a, ttl: 300, rdata: .a(IPv4Address(192, 0, 2, last)))
    }

    var advertised: UInt32 {
        switch mode.withLock({ $0 }) {
        case .good(let s, _), .truncated(let s), .outOfZone(let s), .staleSignature(let s): s
        case .backwards(let a, _): a
        }
    }

    /// The answer messages of a transfer in the current mode, and whether to cut the stream after the first.
    func stream() -> (messages: [[ResourceRecord]], cut: Bool, stale: Bool) {
        let ns = ResourceRecord(name: zone, type: .ns, ttl: 300, rdata: .ns(try! DNSName("ns1.hostile.test.")))
        func body(_ serial: UInt32, _ last: UInt8) -> [[ResourceRecord]] {
            [[soa(serial), ns, a("ns1.hostile.test.", 53)], [a("www.hostile.test.", last), soa(serial)]]
        }
        switch mode.withLock({ $0 }) {
        case .good(let s, let last): return (body(s, last), false, false)
        case .truncated(let s): return (body(s, 9), true, false)
        case .outOfZone(let s): return ([[soa(s), ns, a("ns1.hostile.test.", 53), a("www.victim.example.", 6)], [soa(s)]], false, false)
        case .backwards(_, let sent): return (body(sent, 9), false, false)
        case .staleSignature(let s): return (body(s, 9), false, true)
        }
    }

    func answer(_ q: Message, _ answers: [ResourceRecord]) -> [UInt8] {
        var m = Message()
        m.header = Header(id: q.header.id)
        m.header.qr = true
        m.header.aa = true
        m.questions = q.questions
        m.answers = answers
        return m.wireBytes()
    }

    /// Signs `messages` as a reply to `request` (nil: unsigned), with `time`.
    func sign(_ messages: [[UInt8]], request: [UInt8], time: UInt64) -> [[UInt8]] {
        guard let key, let split = try? TSIG.split(request) else { return messages }
        var prior = split.tsig.mac
        return messages.enumerated().map { i, m in
            guard let (s, mac) = TSIG.sign(m, key: key, time: time, requestMAC: prior, timersOnly: i > 0) else { return m }
            prior = mac
            return s
        }
    }

    func serveUDP() {
        var buf = [UInt8](repeating: 0, count: 4096)
        while !stopped.load(ordering: .acquiring) {
            var from = sockaddr_storage()
            var flen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(udp, &buf, buf.count, 0, $0, &flen) } }
            guard n > 0 else { continue }
            let bytes = Array(buf[..<n])
            guard let q = try? Message.parse(bytes) else { continue }
            let reply = sign([answer(q, [soa(advertised)])], request: bytes, time: UInt64(time(nil)))[0]
            _ = withUnsafePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(udp, reply, reply.count, 0, $0, flen) } }
        }
    }

    func serveTCP() {
        while !stopped.load(ordering: .acquiring) {
            var p = pollfd(fd: tcp, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            let c = accept(tcp, nil, nil)
            guard c >= 0 else { continue }
            defer { close(c) }
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            guard let request = DNSClient.readFrame(c), let q = try? Message.parse(request) else { continue }
            transfers.add(1, ordering: .relaxed)
            let (parts, cut, stale) = stream()
            var msgs = parts.map { answer(q, $0) }
            msgs = sign(msgs, request: request, time: UInt64(time(nil)) - (stale ? 3600 : 0))
            for (i, m) in msgs.enumerated() {
                DNSClient.sendFrame(c, m)
                if cut && i == 0 { break }
            }
        }
    }
}

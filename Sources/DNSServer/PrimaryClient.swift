#if canImport(Glibc)
import Glibc
#endif
import DNSForward
import DNSStore
import DNSTSIG
import DNSWire
import DNSZone
import SystemIO

/// A secondary's side of the wire, toward one primary: the SOA query (UDP, then TCP if truncated) and the
/// transfer (TCP), both signed when a key is set, every answer's TSIG checked, every wait bounded. Blocking,
/// on the secondary thread; each call opens and closes its own socket.
struct PrimaryClient {
    let server: UpstreamServer
    let key: TSIGKey?
    /// Longest wait for one answer, or for the next message of a transfer.
    var timeoutMs = 5_000
    /// Longest a whole transfer may take.
    var transferDeadlineMs: Int64 = 300_000

    /// The primary's SOA serial for `zone`.
    func soaSerial(_ zone: DNSName) throws(TransferError) -> UInt32 {
        let id = UInt16.random(in: 0...UInt16.max)
        let q = Message.query(zone, .soa, id: id, recursionDesired: false, edns: EDNS()).wireBytes()
        var (bytes, mac) = sign(q)
        var answer = try udp(bytes)
        if answer.count > 2 && answer[2] & 0x02 != 0 {  // TC: ask again over TCP
            (bytes, mac) = sign(q)
            let fd = try connect()
            defer { close(fd) }
            try sendFrame(fd, bytes)
            answer = try readFrame(fd)
        }
        var chain = ResponseChain(key: key, requestMAC: mac)
        try chain.check(answer, last: true)
        let m: Message
        do { m = try Message.parse(answer) } catch { throw TransferError("unreadable SOA answer: \(error)") }
        guard m.header.id == id, m.header.qr else { throw TransferError("SOA answer with another ID") }
        guard m.rcode == .noError else { throw TransferError("the primary answered the SOA query with \(m.rcode)") }
        guard m.header.aa, let soa = m.answers.first(where: { $0.type == .soa && $0.name == zone })?.rdata.soa else {
            throw TransferError("the primary is not authoritative for \(zone) (no SOA in an AA answer)")
        }
        return soa.serial
    }

    /// AXFR, or IXFR from `ours` (our SOA, sent in authority), read and checked by a `TransferReader`.
    func transfer(_ zone: DNSName, ixfrFrom ours: ResourceRecord?) throws(TransferError) -> (Received, bytes: Int, messages: Int) {
        let type: RRType = ours == nil ? .axfr : .ixfr
        let id = UInt16.random(in: 0...UInt16.max)
        var m = Message.query(zone, type, id: id, recursionDesired: false, edns: nil)
        if let ours { m.authority = [ours] }
        let (bytes, mac) = sign(m.wireBytes())
        let fd = try connect()
        defer { close(fd) }
        try sendFrame(fd, bytes)
        var reader = TransferReader(zone: zone, asked: type, ours: ours?.rdata.soa?.serial)
        var chain = ResponseChain(key: key, requestMAC: mac)
        let start = monotonicMs()
        var total = 0
        while true {
            guard monotonicMs() - start < transferDeadlineMs else { throw TransferError("transfer took longer than \(transferDeadlineMs / 1000) s") }
            let frame = try readFrame(fd)
            total += frame.count
            guard frame.count >= 12, UInt16(frame[0]) << 8 | UInt16(frame[1]) == id else { throw TransferError("a transfer message with another ID") }
            let done = try reader.add(frame)
            try chain.check(frame, last: done)
            if done { break }
        }
        return (try reader.result(), total, reader.messages)
    }

    /// The query signed with the key (if any), and the MAC its answer must cover.
    func sign(_ q: [UInt8]) -> ([UInt8], [UInt8]?) {
        guard let key, let s = TSIG.sign(q, key: key, time: Signing.now()) else { return (q, nil) }
        return (s.message, s.mac)
    }

    func address() throws(TransferError) -> (sockaddr_storage, socklen_t) {
        guard let a = ListenAddress(server.description) else { throw TransferError("bad primary address \(server)") }
        return socketAddress(a)
    }

    func udp(_ q: [UInt8]) throws(TransferError) -> [UInt8] {
        var (ss, len) = try address()
        let fd = socket(server.isIPv6 ? AF_INET6 : AF_INET, datagramSocketType, 0)
        guard fd >= 0 else { throw TransferError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        _ = jamSetRecvTimeout(fd, ms: Int32(timeoutMs))
        let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, len) } }
        guard rc == 0, send(fd, q, q.count, 0) == q.count else { throw TransferError("cannot send to \(server): \(String(cString: strerror(errno)))") }
        var buf = [UInt8](repeating: 0, count: 65535)
        // Answers with another ID (late ones, forgeries) are passed over until the wait is up.
        let deadline = monotonicMs() + Int64(timeoutMs)
        while monotonicMs() < deadline {
            let n = recv(fd, &buf, buf.count, 0)
            guard n > 0 else { break }
            if n >= 12 && buf[0] == q[0] && buf[1] == q[1] { return Array(buf[..<n]) }
        }
        throw TransferError("no answer from \(server) within \(timeoutMs) ms")
    }

    func connect() throws(TransferError) -> Int32 {
        var (ss, len) = try address()
        let fd = socket(server.isIPv6 ? AF_INET6 : AF_INET, streamSocketType, 0)
        guard fd >= 0 else { throw TransferError("socket: \(String(cString: strerror(errno)))") }
        _ = jamSetRecvTimeout(fd, ms: Int32(timeoutMs))
        var tv = timeval(tv_sec: timeoutMs / 1000, tv_usec: Int(timeoutMs % 1000) * 1000)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, len) } }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw TransferError("cannot connect to \(server) over TCP: \(String(cString: strerror(e)))")
        }
        return fd
    }

    /// One message over TCP and its one answer, as they are: an UPDATE passed on to the primary (RFC 2136 §6),
    /// whose TSIG, if any, is the client's and is checked by the primary.
    func exchange(_ message: [UInt8]) throws(TransferError) -> [UInt8] {
        let fd = try connect()
        defer { close(fd) }
        try sendFrame(fd, message)
        let answer = try readFrame(fd)
        guard answer.count >= 12, answer[0] == message[0], answer[1] == message[1], answer[2] & 0x80 != 0 else {
            throw TransferError("\(server) sent something that is not the answer")
        }
        return answer
    }

    func sendFrame(_ fd: Int32, _ m: [UInt8]) throws(TransferError) {
        let framed = [UInt8(m.count >> 8), UInt8(m.count & 0xFF)] + m
        guard send(fd, framed, framed.count, Int32(MSG_NOSIGNAL)) == framed.count else { throw TransferError("cannot send to \(server)") }
    }

    func readFrame(_ fd: Int32) throws(TransferError) -> [UInt8] {
        let head = try readExactly(fd, 2)
        return try readExactly(fd, Int(head[0]) << 8 | Int(head[1]))
    }

    func readExactly(_ fd: Int32, _ n: Int) throws(TransferError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
            if r == 0 { throw TransferError("\(server) closed the connection mid-transfer") }
            if r < 0 {
                if errno == EINTR { continue }
                throw TransferError(errno == EAGAIN ? "\(server) sent nothing for \(timeoutMs) ms" : "reading from \(server): \(String(cString: strerror(errno)))")
            }
            got += r
        }
        return out
    }
}

/// Checks the TSIGs of the answers to one signed request (RFC 8945 §5.3): the first message signed over the
/// request's MAC, each later signed one over the one before and the unsigned messages between (at most 99),
/// the last one signed. With no key, an answer that carries a TSIG is refused (it was not asked for).
struct ResponseChain {
    let key: TSIGKey?
    private var prior: [UInt8]?
    private var unsigned: [UInt8] = []
    private var unsignedCount = 0
    private var first = true

    init(key: TSIGKey?, requestMAC: [UInt8]?) {
        self.key = key
        prior = requestMAC
    }

    mutating func check(_ message: [UInt8], last: Bool) throws(TransferError) {
        let split: TSIG.Split?
        do { split = try TSIG.split(message) } catch { throw TransferError("a malformed TSIG in the answer (\(error))") }
        guard let key else {
            if split != nil { throw TransferError("the answer is signed, but no key is configured for it") }
            return
        }
        guard let split else {
            guard !first, !last else { throw TransferError("the \(first ? "first" : "last") message of the answer is not signed with \(key.name)") }
            unsignedCount += 1
            guard unsignedCount < 100 else { throw TransferError("100 messages in a row without a TSIG (RFC 8945 §5.3.1 allows 99)") }
            unsigned += message
            return
        }
        guard split.tsig.error == 0 else { throw TransferError("the primary answered with TSIG error \(split.tsig.error) for key \(key.name)") }
        switch TSIG.verify(split, keys: { $0 == key.name ? key : nil }, now: Signing.now(), requestMAC: prior, timersOnly: !first, preceding: unsigned) {
        case .success: break
        case .failure(let f): throw TransferError("the answer's TSIG does not verify with \(key.name): \(f)")
        }
        prior = split.tsig.mac
        unsigned.removeAll()
        unsignedCount = 0
        first = false
    }
}

#if canImport(Glibc)
import Glibc
#endif
import CSys
import DNSWire
import DNSZone

/// One UDP socket served by one thread with recvmmsg/sendmmsg batches (platform notes: ~1.7x NIO's
/// per-core throughput). All buffers are allocated once; the loop wakes every 500 ms to check for shutdown.
final class UDPWorker {
    static let batch = 64
    static let recvSize = 4096  // larger datagrams arrive with MSG_TRUNC and are dropped
    static let sendSize = 4096  // edns_udp_payload is capped at 4096

    let fd: Int32
    /// Owns the descriptor: closed when the worker and every forwarded query still waiting to answer through
    /// it are gone, so a late answer after a reload removed the address never lands on a reused descriptor.
    let socket: OwnedSocket
    let authority: Authority
    let policies: PolicyBox
    let metrics: MetricBlock
    /// Set when the server stops, or when a reload removes this worker's address.
    let stop: StopFlag

    let recvMsgs: UnsafeMutablePointer<jam_mmsg>
    let sendMsgs: UnsafeMutablePointer<jam_mmsg>
    let recvIov: UnsafeMutablePointer<iovec>
    let sendIov: UnsafeMutablePointer<iovec>
    let addrs: UnsafeMutablePointer<sockaddr_storage>
    let recvBuf: UnsafeMutableRawPointer
    let sendBuf: UnsafeMutableRawPointer
    var writer = WireWriter(capacity: 4096)
    var cache: AnswerCache

    init(fd: Int32, authority: Authority, policies: PolicyBox, metrics: MetricBlock, stop: StopFlag, answerCacheSlots: Int) {
        self.fd = fd
        socket = OwnedSocket(fd)
        self.authority = authority
        self.policies = policies
        self.metrics = metrics
        self.stop = stop
        let n = Self.batch
        recvMsgs = .allocate(capacity: n)
        sendMsgs = .allocate(capacity: n)
        recvIov = .allocate(capacity: n)
        sendIov = .allocate(capacity: n)
        addrs = .allocate(capacity: n)
        recvBuf = .allocate(byteCount: n * Self.recvSize, alignment: 16)
        sendBuf = .allocate(byteCount: n * Self.sendSize, alignment: 16)
        cache = AnswerCache(capacity: answerCacheSlots)
        _ = jam_set_recv_timeout_ms(fd, 500)
    }

    deinit {
        recvMsgs.deallocate()
        sendMsgs.deallocate()
        recvIov.deallocate()
        sendIov.deallocate()
        addrs.deallocate()
        recvBuf.deallocate()
        sendBuf.deallocate()
    }

    func run() {
        let n = Self.batch
        while !stop.isSet {
            for i in 0..<n {
                recvIov[i] = iovec(iov_base: recvBuf + i * Self.recvSize, iov_len: Self.recvSize)
                recvMsgs[i] = jam_mmsg(
                    hdr: msghdr(
                        msg_name: UnsafeMutableRawPointer(addrs + i), msg_namelen: socklen_t(MemoryLayout<sockaddr_storage>.size),
                        msg_iov: recvIov + i, msg_iovlen: 1, msg_control: nil, msg_controllen: 0, msg_flags: 0),
                    len: 0)
            }
            let got = jam_recvmmsg(fd, recvMsgs, UInt32(n), Int32(MSG_WAITFORONE))
            if got <= 0 { continue }  // timeout (EAGAIN), EINTR, or a transient error such as ECONNREFUSED
            let catalog = authority.snapshot()
            let policy = policies.snapshot()
            let received = monotonicUs()
            var out = 0
            for i in 0..<Int(got) {
                let len = Int(recvMsgs[i].len)
                if recvMsgs[i].hdr.msg_flags & Int32(MSG_TRUNC) != 0 { continue }
                let query = UnsafeRawBufferPointer(start: recvBuf + i * Self.recvSize, count: len)
                let dst = sendBuf + out * Self.sendSize
                guard let size = answer(query, catalog: catalog, policy: policy, received: received, into: dst, from: addrs + i,
                                        addrLen: recvMsgs[i].hdr.msg_namelen) else { continue }
                sendIov[out] = iovec(iov_base: dst, iov_len: size)
                sendMsgs[out] = jam_mmsg(
                    hdr: msghdr(
                        msg_name: UnsafeMutableRawPointer(addrs + i), msg_namelen: recvMsgs[i].hdr.msg_namelen,
                        msg_iov: sendIov + out, msg_iovlen: 1, msg_control: nil, msg_controllen: 0, msg_flags: 0),
                    len: 0)
                out += 1
            }
            var sent = 0
            while sent < out {
                let r = jam_sendmmsg(fd, sendMsgs + sent, UInt32(out - sent), 0)
                if r < 0 {
                    if errno == EINTR { continue }
                    sent += 1  // skip the datagram the kernel refused (e.g. unreachable), keep the rest
                } else {
                    sent += Int(r)
                }
            }
        }
    }

    /// Answers one datagram into `dst`; nil means drop (or answered later by the resolver). Repeated
    /// authoritative questions are served from the per-worker answer memo without parsing.
    @inline(__always)
    func answer(_ query: UnsafeRawBufferPointer, catalog: Catalog, policy: Policy, received: Int, into dst: UnsafeMutableRawPointer,
                from addr: UnsafeMutablePointer<sockaddr_storage>, addrLen: socklen_t) -> Int? {
        // The ACL comes before the memo: a memoised answer must never reach a client that may not ask.
        let client = policy.needsClient ? IPBits(addr) : IPBits(hi: 0, lo: 0)
        let allowed = policy.allowQuery?.contains(client) ?? true
        let memoKey = policy.memoGeneration(catalog.generation)
        var size: Int
        var source: AnswerSource
        if allowed, let hit = cache.lookup(query, generation: memoKey, into: dst) {
            size = hit
            source = .authoritative
        } else {
            let bytes = Array(query)
            switch policy.engine.decide(bytes, transport: .udp, catalog: catalog, into: &writer, allowed: allowed) {
            case .drop:
                metrics.count(.dropped)
                return nil
            case .recurse(let q):
                guard let resolver = policy.resolver else { return nil }
                // The answer may come later from the forwarder's thread: it sends on this socket (sendto is
                // thread-safe) to a copy of the client's address.
                switch resolver.answerNow(q, client: ClientAddress.ip(addr)) {
                case .answer(let now, let src):
                    // Answered at once (cache hit or policy): it goes out in this batch's sendmmsg.
                    size = min(now.count, Self.sendSize)
                    now.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress!, byteCount: size) }
                    source = src
                case .fetch(let zone, let key):
                    let to = ClientAddress(addr, addrLen)
                    let socket = self.socket
                    let metrics = self.metrics
                    let log = policy.queryLog
                    let qtype = q.question.type.rawValue
                    let name = log == nil ? [] : QueryLog.questionName(query)
                    resolver.fetch(q, zone: zone, key: key) { bytes, src in
                        to.send(bytes, on: socket.fd)
                        let latency = monotonicUs() - received
                        let rcode = bytes.count > 3 ? bytes[3] & 0x0F : 2
                        metrics.record(qtype: qtype, rcode: rcode, tcp: false, source: src, latencyUs: latency)
                        if let log, !log.append(.init(timeMs: wallMs(), client: to.ip, name: name, qtype: qtype, rcode: rcode, source: src, tcp: false, latencyUs: latency)) {
                            metrics.count(.queryLogDropped)
                        }
                    }
                    return nil
                }
            case .reply:
                size = min(writer.count, Self.sendSize)
                writer.bytes.withUnsafeBytes { dst.copyMemory(from: $0.baseAddress!, byteCount: size) }
                if allowed { cache.insert(query: query, response: writer.bytes, generation: memoKey) }
                source = AnswerSource.ofEngineAnswer(rcode: size > 3 ? writer.bytes[3] & 0x0F : 0)
            }
        }
        // Rate limiting happens after the answer exists, so dropped garbage costs no budget.
        if let limiter = policy.limiter, limiter.applies(to: client) {
            switch limiter.check(client, nowMs: Int64(received / 1000)) {
            case .pass: break
            case .drop:
                metrics.count(.rrlDropped)
                return nil
            case .slip:
                metrics.count(.rrlSlipped)
                size = RateLimiter.truncate(dst, size: size)
            }
        }
        let qtype = rawQueryType(query)
        let rcode = size > 3 ? dst.load(fromByteOffset: 3, as: UInt8.self) & 0x0F : 0
        let latency = monotonicUs() - received
        metrics.record(qtype: qtype, rcode: rcode, tcp: false, source: source, latencyUs: latency)
        if let log = policy.queryLog,
           !log.append(.init(timeMs: wallMs(), client: client.bytes, name: QueryLog.questionName(query), qtype: qtype, rcode: rcode, source: source, tcp: false, latencyUs: latency)) {
            metrics.count(.queryLogDropped)
        }
        return size
    }
}

/// A socket descriptor closed when the last reference goes.
final class OwnedSocket: Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// A client's socket address, copied out of the receive buffers so an answer can be sent later.
struct ClientAddress: Sendable {
    let storage: [UInt8]
    let length: socklen_t

    init(_ p: UnsafeMutablePointer<sockaddr_storage>, _ len: socklen_t) {
        storage = Array(UnsafeRawBufferPointer(start: p, count: Int(len)))
        length = len
    }

    /// The IP address bytes (4 or 16) straight from a received sockaddr.
    static func ip(_ p: UnsafeMutablePointer<sockaddr_storage>) -> [UInt8] {
        let raw = UnsafeRawPointer(p)
        let family = raw.load(as: sa_family_t.self)
        if family == sa_family_t(AF_INET) { return Array(UnsafeRawBufferPointer(start: raw + 4, count: 4)) }
        if family == sa_family_t(AF_INET6) { return Array(UnsafeRawBufferPointer(start: raw + 8, count: 16)) }
        return []
    }

    /// The IP address bytes (4 or 16) for ACL checks.
    var ip: [UInt8] {
        guard storage.count >= 2 else { return [] }
        let family = storage.withUnsafeBytes { $0.load(as: sa_family_t.self) }
        if family == sa_family_t(AF_INET), storage.count >= 8 { return Array(storage[4..<8]) }
        if family == sa_family_t(AF_INET6), storage.count >= 24 { return Array(storage[8..<24]) }
        return []
    }

    func send(_ bytes: [UInt8], on fd: Int32) {
        storage.withUnsafeBytes { a in
            _ = bytes.withUnsafeBytes { b in
                sendto(fd, b.baseAddress, b.count, Int32(MSG_NOSIGNAL), a.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
            }
        }
    }
}

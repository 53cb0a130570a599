#if canImport(Glibc)
import Glibc
#endif
import CSys
import DNSWire
import DNSZone
import SystemIO

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
    let keys: KeyBox
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
    var scratch: PipelineScratch

    init(fd: Int32, authority: Authority, policies: PolicyBox, keys: KeyBox, metrics: MetricBlock, stop: StopFlag, answerCacheSlots: Int) {
        self.fd = fd
        socket = OwnedSocket(fd)
        self.authority = authority
        self.policies = policies
        self.keys = keys
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
        scratch = PipelineScratch(memoSlots: answerCacheSlots)
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
            let pipeline = Pipeline(catalog: authority.snapshot(), policy: policies.snapshot(), keys: keys.snapshot(), metrics: metrics)
            let received = monotonicUs()
            var out = 0
            for i in 0..<Int(got) {
                let len = Int(recvMsgs[i].len)
                if recvMsgs[i].hdr.msg_flags & Int32(MSG_TRUNC) != 0 { continue }
                let query = UnsafeRawBufferPointer(start: recvBuf + i * Self.recvSize, count: len)
                let dst = sendBuf + out * Self.sendSize
                let from = addrs + i, fromLen = recvMsgs[i].hdr.msg_namelen
                let request = Request(bytes: query, client: IPBits(UnsafeRawPointer(from)), transport: .udp, receivedUs: received)
                let socket = self.socket
                guard case .reply(let size, _) = pipeline.handle(request, scratch: &scratch, into: dst, capacity: Self.sendSize,
                                                                 responder: { UDPResponder(to: ClientAddress(from, fromLen), socket: socket) })
                else { continue }
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
}

/// A socket descriptor closed when the last reference goes.
final class OwnedSocket: Sendable {
    let fd: Int32
    init(_ fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}

/// A forwarded answer's way back to a UDP client: its copied address, on the worker's socket (kept open by
/// the reference until the answer is out).
struct UDPResponder: Responder {
    let to: ClientAddress
    let socket: OwnedSocket
    func respond(_ bytes: [UInt8]) { to.send(bytes, on: socket.fd) }
}

/// A client's socket address, copied out of the receive buffers so an answer can be sent later.
struct ClientAddress: Sendable {
    let storage: [UInt8]
    let length: socklen_t

    init(_ p: UnsafeMutablePointer<sockaddr_storage>, _ len: socklen_t) {
        storage = Array(UnsafeRawBufferPointer(start: p, count: Int(len)))
        length = len
    }

    func send(_ bytes: [UInt8], on fd: Int32) {
        storage.withUnsafeBytes { a in
            _ = bytes.withUnsafeBytes { b in
                sendto(fd, b.baseAddress, b.count, Int32(MSG_NOSIGNAL), a.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
            }
        }
    }
}

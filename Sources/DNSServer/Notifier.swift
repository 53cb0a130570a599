#if canImport(Glibc)
import Glibc
#endif
import DNSForward
import DNSTSIG
import DNSWire
import DNSZone
import JamLog
import Synchronization
import SystemIO

/// Tells secondaries of a zone's new serial (RFC 1996): a NOTIFY to every `notify` address of the zone,
/// signed with `notify_key` when one is set, sent again with back-off until the secondary acknowledges it
/// (§3.6), and replaced by a newer serial's NOTIFY if the zone changes meanwhile. Its own thread and sockets.
final class Notifier: Sendable {
    /// Seconds to the next try after each unanswered one; the NOTIFY is given up after the last.
    static let backoffMs: [Int64] = [1_000, 2_000, 4_000, 8_000, 16_000]

    struct Due: Sendable {
        var zone: DNSName
        var serial: UInt32
    }

    private let due = Mutex<[Due]>([])
    /// Wakes the loop when a zone changes, so a NOTIFY leaves at once rather than at the next poll tick.
    private let wakeup = WakePipe()
    let policies: PolicyBox
    let keys: KeyBox
    let metrics: MetricBlock
    let logger: Logger

    init(policies: PolicyBox, keys: KeyBox, metrics: MetricBlock, logger: Logger) {
        self.policies = policies
        self.keys = keys
        self.metrics = metrics
        self.logger = logger
    }

    /// A zone has a new serial (or the server started): its secondaries are to be told.
    func zoneChanged(_ zone: DNSName, serial: UInt32) {
        // Only zones with secondaries to tell: the queue never fills while the thread is not running.
        guard policies.snapshot().zoneConfig(zone)?.notify.isEmpty == false else { return }
        due.withLock { $0.append(Due(zone: zone, serial: serial)) }
        wakeup.wake()
    }

    /// One NOTIFY waiting for its acknowledgement.
    struct Pending {
        var zone: DNSName
        var serial: UInt32
        var target: UpstreamServer
        var address: sockaddr_storage
        var length: socklen_t
        var id: UInt16
        var message: [UInt8]
        var tries = 0
        var nextMs: Int64 = 0
        var key: TSIGKey?
    }

    func run(stop: StopFlag) {
        let v4 = socket(AF_INET, datagramSocketType, 0)
        let v6 = socket(AF_INET6, datagramSocketType, 0)
        defer {
            if v4 >= 0 { close(v4) }
            if v6 >= 0 { close(v6) }
        }
        for fd in [v4, v6] where fd >= 0 {
            setNonBlocking(fd)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        var pending: [Pending] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        var rng = SystemRandomNumberGenerator()
        while !stop.isSet {
            let now = monotonicMs()
            for d in due.withLock({ q -> [Due] in defer { q.removeAll() }; return q }) {
                guard let cfg = policies.snapshot().zoneConfig(d.zone), !cfg.notify.isEmpty else { continue }
                let key = cfg.notifyKey.flatMap { keys.snapshot().key($0) }
                if let k = cfg.notifyKey, key == nil {
                    logger.error("notify_key \(k) of zone \(d.zone) is not a TSIG key in the store; sending NOTIFY unsigned (add it with 'dnsctl tsig add \(k)')")
                }
                for t in cfg.notify {
                    // A newer serial replaces what is still waiting for the same secondary.
                    pending.removeAll { $0.zone == d.zone && $0.target == t }
                    let (ss, len) = socketAddress(ListenAddress(t.description)!)
                    let id = UInt16.random(in: 0...UInt16.max, using: &rng)
                    pending.append(Pending(zone: d.zone, serial: d.serial, target: t, address: ss, length: len, id: id,
                                           message: Self.message(zone: d.zone, serial: d.serial, id: id), nextMs: now, key: key))
                }
            }
            for i in pending.indices where pending[i].nextMs <= now {
                let p = pending[i]
                var bytes = p.message
                if let k = p.key, let signed = TSIG.sign(bytes, key: k, time: Signing.now()) { bytes = signed.message }
                let fd = p.target.isIPv6 ? v6 : v4
                var ss = p.address
                _ = withUnsafePointer(to: &ss) { a in
                    a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, p.length) }
                }
                metrics.count(.notifySent)
                pending[i].tries += 1
                pending[i].nextMs = now + (p.tries < Self.backoffMs.count ? Self.backoffMs[p.tries] : 0)
            }
            let expired = pending.filter { $0.tries >= Self.backoffMs.count && $0.nextMs <= now }
            for p in expired {
                metrics.count(.notifyGaveUp)
                logger.warning("secondary did not acknowledge NOTIFY after \(p.tries) tries; it will still refresh on its SOA timers",
                               metadata: ["zone": "\(p.zone)", "serial": "\(p.serial)", "secondary": "\(p.target)"])
            }
            pending.removeAll { $0.tries >= Self.backoffMs.count && $0.nextMs <= now }

            var fds = [wakeup.fd, v4, v6].filter { $0 >= 0 }.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            wakeup.drain()
            for f in fds where f.revents & Int16(POLLIN) != 0 && f.fd != wakeup.fd {
                while true {
                    var from = sockaddr_storage()
                    var flen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                    let n = withUnsafeMutablePointer(to: &from) { a in
                        a.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(f.fd, &buf, buf.count, 0, $0, &flen) }
                    }
                    guard n >= 12 else { break }
                    let id = UInt16(buf[0]) << 8 | UInt16(buf[1])
                    let isNotifyAnswer = buf[2] & 0x80 != 0 && (buf[2] >> 3) & 0x0F == 4
                    let sender = withUnsafeBytes(of: &from) { IPBits($0.baseAddress!) }
                    guard isNotifyAnswer, let i = pending.firstIndex(where: { $0.id == id && Self.sameAddress($0.address, sender) }) else { continue }
                    metrics.count(.notifyAnswered)
                    let p = pending.remove(at: i)
                    logger.debug("NOTIFY acknowledged", metadata: ["zone": "\(p.zone)", "serial": "\(p.serial)", "secondary": "\(p.target)"])
                }
            }
        }
    }

    static func sameAddress(_ ss: sockaddr_storage, _ b: IPBits) -> Bool {
        var s = ss
        return withUnsafeBytes(of: &s) { IPBits($0.baseAddress!) } == b
    }

    /// NOTIFY for `zone` (RFC 1996 §3.7): opcode 4, AA, the zone's SOA as the question. No SOA in the answer
    /// section: §3.7 makes it optional, and a secondary asks for the SOA itself either way.
    static func message(zone: DNSName, serial: UInt32, id: UInt16) -> [UInt8] {
        var m = Message()
        m.header = Header(id: id)
        m.header.opcode = .notify
        m.header.aa = true
        m.questions = [Question(name: zone, type: .soa)]
        return m.wireBytes()
    }
}

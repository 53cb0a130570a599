import DNSWire
import DNSZone
import SystemIO

/// A transfer the pipeline allowed: what to send and how to sign it. The TCP listener turns it into a
/// `TransferStream`, after reading the journal's differences when it is an IXFR.
package struct TransferPlan: Sendable {
    let query: TransferQuery
    var signer: Signer?
    /// IXFR: the differences from the client's serial to the snapshot's, read from the journal.
    var needsJournal: Bool { query.clientSerial != nil }
}

/// The messages of one zone transfer, made as the connection takes them (a big zone is never in memory as
/// messages): AXFR (RFC 5936 §2.2: the SOA, every other record, the SOA again) or IXFR (RFC 1995 §4: the new
/// SOA, then per serial the old SOA, what went, the new SOA, what came, and the new SOA to end). An IXFR the
/// journal does not reach is sent AXFR-style. Confined to the TCP thread.
final class TransferStream {
    /// Messages are filled to this size before TSIG: few MACs, and names compressed against the question.
    static let messageLimit = 65535
    private(set) var plan: TransferPlan
    private var walk: ZoneWalk?
    private var queue: [ResourceRecord] = []
    private var next = 0
    private var closingSOA: ResourceRecord?
    private(set) var messages = 0
    private(set) var bytes = 0
    private(set) var records = 0
    /// Set when a message could not be made (a record larger than a message, or a MAC OpenSSL refused):
    /// the stream ends and the connection is closed, so the client sees a broken transfer, not a short zone.
    private(set) var failed = false
    let incremental: Bool
    /// Monotonic ms when the stream was made, for the log line at its end.
    let startedMs = monotonicMs()
    private var writer = WireWriter(capacity: 65535)

    init(plan: TransferPlan, diffs: [SerialDiff]?) {
        self.plan = plan
        let zone = plan.query.zone
        let soa = ResourceRecord(name: zone.origin, type: .soa, ttl: zone.soaTTL, rdata: .soa(zone.soa))
        closingSOA = soa
        queue = [soa]
        if let diffs, plan.query.clientSerial != nil {
            incremental = true
            for d in diffs {
                queue.append(d.oldSOA)
                queue += d.removed
                queue.append(d.newSOA)
                queue += d.added
            }
        } else {
            incremental = false
            walk = ZoneWalk(zone)
        }
    }

    var isDone: Bool { failed || (closingSOA == nil && next >= queue.count) }

    /// The next message of the transfer, nil when it is done (or failed).
    func nextMessage(now: UInt64) -> [UInt8]? {
        guard !isDone else { return nil }
        let q = plan.query
        // The writer's buffer is reused message after message; swapped out so it is held uniquely.
        var w = WireWriter(capacity: 0)
        swap(&w, &writer)
        defer { swap(&w, &writer) }
        w.reset()
        w.fixedSuffix = (q.question.name.wire, 12)
        var h = Header(id: q.id)
        h.qr = true
        h.aa = true
        h.rd = Header(id: q.id, flags: q.flags).rd
        w.header(h, questions: 1)
        // The question in every message: allowed (RFC 5936 §2.2.1), and every name is compressed against it.
        w.append(q.question.name.wire)
        w.u16(q.question.type.rawValue)
        w.u16(q.question.qclass.rawValue)
        let opt = q.edns ? 11 : 0
        let limit = Self.messageLimit - opt - (plan.signer?.overhead ?? 0)
        var count = 0
        while true {
            if next >= queue.count && !refill() { break }
            let mark = w.count
            Message.writeRecord(queue[next], into: &w)
            if w.count > limit {
                w.truncate(to: mark)
                if count == 0 { failed = true; return nil }
                break
            }
            next += 1
            count += 1
        }
        w.patchU16(at: 6, UInt16(count))
        if q.edns {
            w.u8(0)
            w.u16(RRType.opt.rawValue)
            w.u16(1232)
            w.u32(0)
            w.u16(0)
            w.patchU16(at: 10, 1)
        }
        var out = w.bytes
        if plan.signer != nil {
            guard let signed = plan.signer!.sign(out, now: now) else { failed = true; return nil }
            out = signed
        }
        messages += 1
        records += count
        bytes += out.count
        return out
    }

    /// Refills the queue from the walk, then with the closing SOA. False when nothing is left.
    private func refill() -> Bool {
        queue.removeAll(keepingCapacity: true)
        next = 0
        while var w = walk {
            walk = nil  // the walk is held uniquely while it advances
            _ = w.next(nodes: 512, into: &queue)
            if !w.isDone { walk = w }
            if !queue.isEmpty { return true }
        }
        if let soa = closingSOA {
            closingSOA = nil
            queue.append(soa)
            return true
        }
        return false
    }
}

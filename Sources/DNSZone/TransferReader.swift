import DNSWire

/// One serial's difference as IXFR sends it (RFC 1995 §4): the old SOA, what went, the new SOA, what came.
public struct SerialDiff: Sendable, Equatable {
    public var oldSOA: ResourceRecord
    public var removed: [ResourceRecord]
    public var newSOA: ResourceRecord
    public var added: [ResourceRecord]

    public init(oldSOA: ResourceRecord, removed: [ResourceRecord], newSOA: ResourceRecord, added: [ResourceRecord]) {
        self.oldSOA = oldSOA
        self.removed = removed
        self.newSOA = newSOA
        self.added = added
    }
}

/// Why a transfer from a primary was not taken. Every case leaves the secondary's copy as it was.
public struct TransferError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ d: String) { description = d }
}

/// What a transfer came back as.
public enum Received: Equatable, Sendable {
    /// IXFR answered with the single SOA: the copy is current.
    case upToDate(serial: UInt32)
    /// AXFR, or IXFR sent AXFR-style: the whole zone (SOA first, once).
    case whole(records: [ResourceRecord], serial: UInt32)
    /// IXFR: the differences from our serial, oldest first.
    case incremental(diffs: [SerialDiff], serial: UInt32)
    /// IXFR answered with a single SOA newer than ours: the primary wants an AXFR instead.
    case askWhole(serial: UInt32)
}

/// Reads a transfer's messages as they arrive (RFC 5936 §2.2, RFC 1995 §4) and checks them: NOERROR, every
/// record IN and inside the zone, an SOA of the zone first and the same SOA to end, nothing after it, an
/// IXFR chain that starts at our serial and links serial to serial, and bounds on records and bytes (a hostile
/// or broken primary cannot make the secondary hold an unbounded zone). Pure: bytes in, a verdict out.
public struct TransferReader {
    public let zone: DNSName
    public let asked: RRType
    /// Our copy's serial (IXFR asks from it); nil when there is no copy.
    public let ours: UInt32?
    public let maxRecords: Int
    public let maxBytes: Int

    private enum Mode { case start, decide, whole, needOld, deleting, adding, done }
    private var mode = Mode.start
    private var serial: UInt32 = 0
    private var soa: ResourceRecord?
    private var records: [ResourceRecord] = []
    private var diffs: [SerialDiff] = []
    private var current: SerialDiff?
    private var count = 0
    private var bytes = 0
    public private(set) var messages = 0

    public init(zone: DNSName, asked: RRType, ours: UInt32?, maxRecords: Int = 5_000_000, maxBytes: Int = 512 << 20) {
        self.zone = zone
        self.asked = asked
        self.ours = ours
        self.maxRecords = maxRecords
        self.maxBytes = maxBytes
    }

    public var isDone: Bool { mode == .done }

    /// Takes one message; true once the transfer is complete (a message after that is an error).
    public mutating func add(_ bytes: [UInt8]) throws(TransferError) -> Bool {
        guard mode != .done else { throw TransferError("a message after the transfer's closing SOA") }
        self.bytes += bytes.count
        messages += 1
        guard self.bytes <= maxBytes else { throw TransferError("transfer larger than \(maxBytes) bytes") }
        let m: Message
        do { m = try Message.parse(bytes) } catch { throw TransferError("unreadable message \(messages): \(error)") }
        guard m.header.qr, m.header.opcode == .query else { throw TransferError("message \(messages) is not an answer") }
        guard m.rcode == .noError else { throw TransferError("the primary answered \(m.rcode)") }
        if let q = m.questions.first, q.name != zone || q.type != asked {
            throw TransferError("message \(messages) answers \(q.name) \(q.type), not \(zone) \(asked)")
        }
        for r in m.answers { try take(r) }
        // A single SOA, alone in the first message: IXFR's "up to date" (or, newer, "ask for AXFR").
        if mode == .decide && messages == 1 && m.answers.count == 1 && asked == .ixfr {
            mode = .done
        }
        return mode == .done
    }

    private mutating func take(_ r: ResourceRecord) throws(TransferError) {
        guard mode != .done else { throw TransferError("a record after the closing SOA") }
        count += 1
        guard count <= maxRecords else { throw TransferError("more than \(maxRecords) records") }
        guard r.rrclass == .in else { throw TransferError("\(r.name) \(r.type) of class \(r.rrclass)") }
        guard r.name.isSubdomain(of: zone) else { throw TransferError("\(r.name) \(r.type) is outside the zone \(zone)") }
        let isSOA = r.type == .soa && r.name == zone
        if r.type == .soa && !isSOA { throw TransferError("an SOA at \(r.name), below the apex") }
        switch mode {
        case .start:
            guard isSOA, let s = r.rdata.soa else { throw TransferError("the transfer does not start with the zone's SOA") }
            serial = s.serial
            soa = r
            mode = .decide
        case .decide:
            if isSOA && asked == .ixfr && r.rdata.soa?.serial != serial {
                mode = .needOld
                try take(again: r)
            } else if isSOA {
                mode = .done  // SOA, SOA: an empty zone, which the store's checks refuse
            } else {
                mode = .whole
                records.append(r)
            }
        case .whole:
            if isSOA {
                guard r.rdata.soa?.serial == serial else { throw TransferError("the closing SOA has serial \(r.rdata.soa?.serial ?? 0), the opening \(serial)") }
                mode = .done
            } else {
                records.append(r)
            }
        case .needOld, .deleting, .adding:
            try take(again: r)
        case .done:
            throw TransferError("a record after the closing SOA")
        }
    }

    /// The IXFR chain (RFC 1995 §4): old SOA, deletions, new SOA, additions, per serial, then the new SOA.
    private mutating func take(again r: ResourceRecord) throws(TransferError) {
        let isSOA = r.type == .soa
        let s = r.rdata.soa?.serial ?? 0
        switch mode {
        case .needOld:
            guard isSOA else { throw TransferError("IXFR: a difference does not start with an SOA") }
            if diffs.isEmpty, current == nil, let ours, s != ours {
                throw TransferError("IXFR starts at serial \(s), our copy is at \(ours)")
            }
            current = SerialDiff(oldSOA: r, removed: [], newSOA: r, added: [])
            mode = .deleting
        case .deleting:
            if isSOA {
                current!.newSOA = r
                mode = .adding
            } else {
                current!.removed.append(r)
            }
        case .adding:
            guard isSOA else {
                current!.added.append(r)
                return
            }
            let d = current!
            diffs.append(d)
            current = nil
            let reached = d.newSOA.rdata.soa?.serial ?? 0
            if s == serial && reached == serial {
                mode = .done
            } else {
                guard s == reached else { throw TransferError("IXFR: a difference starts at serial \(s) after one that ended at \(reached)") }
                current = SerialDiff(oldSOA: r, removed: [], newSOA: r, added: [])
                mode = .deleting
            }
        default:
            break
        }
    }

    /// The verdict, once `add` said the transfer is complete.
    public func result() throws(TransferError) -> Received {
        guard mode == .done, let soa else { throw TransferError("the transfer ended before its closing SOA") }
        if asked == .ixfr && count == 1 {
            if let ours, !serialNewer(serial, than: ours) { return .upToDate(serial: serial) }
            return .askWhole(serial: serial)
        }
        if !diffs.isEmpty { return .incremental(diffs: diffs, serial: serial) }
        return .whole(records: [soa] + records, serial: serial)
    }
}

/// RFC 1982 serial arithmetic: `a` is newer than `b`.
public func serialNewer(_ a: UInt32, than b: UInt32) -> Bool {
    a != b && (a &- b) < 0x8000_0000
}

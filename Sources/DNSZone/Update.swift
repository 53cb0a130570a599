import DNSWire

/// RFC 2136 dynamic update, the part that needs no store: the message read into its sections and checked
/// (§3.1, §3.2 forms, §3.4.1 prescan), the prerequisites judged against the zone's data (§3.2), and the update
/// section applied to the records of the names it touches (§3.4.2), in order. The store wraps `check` and
/// `apply` in one transaction with its own zone checks, serial and journal; nothing here does I/O.
public enum Update {
    /// A readable, well-formed UPDATE.
    public struct Request: Sendable, Equatable {
        public var zone: DNSName
        public var prerequisites: [ResourceRecord]
        public var updates: [ResourceRecord]

        public init(zone: DNSName, prerequisites: [ResourceRecord], updates: [ResourceRecord]) {
            self.zone = zone
            self.prerequisites = prerequisites
            self.updates = updates
        }

        /// Every owner name the update may change or the prerequisites read, the zone apex first.
        public var names: [DNSName] {
            var out = [zone]
            for r in prerequisites + updates where !out.contains(r.name) { out.append(r.name) }
            return out
        }
    }

    /// Why an update is refused before anything changes: the RCODE to answer and what to log.
    public struct Refusal: Error, Equatable, Sendable, CustomStringConvertible {
        public var rcode: RCode
        public var reason: String
        public init(_ rcode: RCode, _ reason: String) {
            self.rcode = rcode
            self.reason = reason
        }
        public var description: String { "\(rcode): \(reason)" }
        /// True for the RCODEs of a prerequisite that did not hold (§2.4): an answer, not a refusal.
        public var isPrerequisite: Bool { Update.prerequisiteRCodes.contains(rcode) }
    }

    /// What §3.2 answers when a prerequisite does not hold.
    public static let prerequisiteRCodes: [RCode] = [.yxDomain, .yxRRSet, .nxDomain, .nxRRSet]

    /// Meta types that never name data (RFC 2136 §3.4.1.2, RFC 6895).
    static func isMeta(_ t: RRType) -> Bool {
        t == .any || t == .axfr || t == .ixfr || t == .opt || t == .tsig || t.rawValue == 253 || t.rawValue == 254 || t.rawValue == 249
    }

    /// Reads an UPDATE (opcode 5): one zone, of class IN and type SOA (§3.1.1); prerequisites and updates in
    /// the forms §2.4 and §2.5 allow, every name inside the zone (§3.2, §3.4.1.3). `served` says whether the
    /// zone is served here: NOTAUTH otherwise, checked before the records (§3.1.2 comes before §3.2).
    public static func parse(_ m: Message, served: (DNSName) -> Bool = { _ in true }) throws(Refusal) -> Request {
        guard m.questions.count == 1 else { throw Refusal(.formErr, "an UPDATE names exactly one zone (it names \(m.questions.count))") }
        let z = m.questions[0]
        guard z.type == .soa else { throw Refusal(.formErr, "the zone section's type is \(z.type), not SOA") }
        guard z.qclass == .in else { throw Refusal(.notAuth, "class \(z.qclass) is not served") }
        let zone = z.name
        guard served(zone) else { throw Refusal(.notAuth, "\(zone) is not a zone served here") }
        for p in m.answers {
            guard p.name.isSubdomain(of: zone) else { throw Refusal(.notZone, "prerequisite \(p.name) is outside the zone \(zone)") }
            guard p.ttl == 0 else { throw Refusal(.formErr, "prerequisite \(p.name) \(p.type) has TTL \(p.ttl), not 0") }
            switch p.rrclass {
            case .any, .none:
                guard isEmpty(p.rdata) else { throw Refusal(.formErr, "prerequisite \(p.name) \(p.type) of class \(p.rrclass) carries RDATA") }
                if p.rrclass == .any && isMeta(p.type) && p.type != .any { throw Refusal(.formErr, "prerequisite of type \(p.type)") }
            case .in:
                guard !isMeta(p.type) else { throw Refusal(.formErr, "prerequisite of type \(p.type)") }
            default:
                throw Refusal(.formErr, "prerequisite \(p.name) of class \(p.rrclass)")
            }
        }
        for u in m.authority {
            guard u.name.isSubdomain(of: zone) else { throw Refusal(.notZone, "update \(u.name) is outside the zone \(zone)") }
            switch u.rrclass {
            case .in:
                guard !isMeta(u.type), !isEmpty(u.rdata) else { throw Refusal(.formErr, "cannot add \(u.name) \(u.type) (meta type or no RDATA)") }
            case .any:
                guard u.ttl == 0, isEmpty(u.rdata), u.type == .any || !isMeta(u.type) else {
                    throw Refusal(.formErr, "a delete of \(u.name) \(u.type) must have TTL 0 and no RDATA")
                }
            case .none:
                guard u.ttl == 0, !isMeta(u.type) else { throw Refusal(.formErr, "a delete of one \(u.name) \(u.type) record must have TTL 0") }
            default:
                throw Refusal(.formErr, "update \(u.name) of class \(u.rrclass)")
            }
        }
        return Request(zone: zone, prerequisites: m.answers, updates: m.authority)
    }

    static func isEmpty(_ rd: RData) -> Bool {
        if case .unknown(_, let b) = rd { return b.isEmpty }
        return false
    }

    static func sameRData(_ a: RData, _ b: RData) -> Bool { a.wireBytes(canonical: true) == b.wireBytes(canonical: true) }

    /// §3.2: nil when every prerequisite holds, else the RCODE that says which failed. `records(name)` gives
    /// the zone's records at a name as they are now.
    public static func check(_ prerequisites: [ResourceRecord], records: (DNSName) -> [ResourceRecord]) -> Refusal? {
        var valueDependent: [(DNSName, RRType, [RData])] = []
        for p in prerequisites {
            let here = records(p.name)
            switch (p.rrclass, p.type) {
            case (.any, .any):
                if here.isEmpty { return Refusal(.nxDomain, "\(p.name) is not in use") }
            case (.any, let t):
                if !here.contains(where: { $0.type == t }) { return Refusal(.nxRRSet, "\(p.name) has no \(t) records") }
            case (.none, .any):
                if !here.isEmpty { return Refusal(.yxDomain, "\(p.name) is in use") }
            case (.none, let t):
                if here.contains(where: { $0.type == t }) { return Refusal(.yxRRSet, "\(p.name) has \(t) records") }
            default:
                if let i = valueDependent.firstIndex(where: { $0.0 == p.name && $0.1 == p.type }) {
                    valueDependent[i].2.append(p.rdata)
                } else {
                    valueDependent.append((p.name, p.type, [p.rdata]))
                }
            }
        }
        // Value-dependent: the RRset must be exactly the records given (§2.4.2), TTLs aside.
        for (name, type, want) in valueDependent {
            let have = Set(records(name).filter { $0.type == type }.map { $0.rdata.wireBytes(canonical: true) })
            guard have == Set(want.map { $0.wireBytes(canonical: true) }) else { return Refusal(.nxRRSet, "\(name) \(type) is not exactly the records given") }
        }
        return nil
    }

    /// §3.4.2: the update section applied in order to `records`, which holds every record at the names the
    /// update touches (the apex's included). What RFC 2136 says to ignore is ignored silently, as it says:
    /// an SOA that does not move the serial forward, data beside a CNAME or a CNAME beside data, deleting the
    /// apex's SOA or NS RRset, or its last NS record.
    public static func apply(_ updates: [ResourceRecord], zone: DNSName, to records: inout [ResourceRecord]) {
        for u in updates {
            switch u.rrclass {
            case .in: add(u, zone: zone, to: &records)
            case .any:
                if u.type == .any {
                    records.removeAll { $0.name == u.name && !(u.name == zone && ($0.type == .soa || $0.type == .ns)) }
                } else if !(u.name == zone && (u.type == .soa || u.type == .ns)) {
                    records.removeAll { $0.name == u.name && $0.type == u.type }
                }
            default:  // NONE: one record
                if u.name == zone && u.type == .soa { continue }
                if u.name == zone && u.type == .ns && records.filter({ $0.name == zone && $0.type == .ns }).count <= 1 { continue }
                records.removeAll { $0.name == u.name && $0.type == u.type && sameRData($0.rdata, u.rdata) }
            }
        }
    }

    static func add(_ u: ResourceRecord, zone: DNSName, to records: inout [ResourceRecord]) {
        var r = u
        r.rrclass = .in
        let at = records.indices.filter { records[$0].name == r.name }
        if r.type == .soa {
            // Only the apex's, and only forward (§3.4.2.2): a replacement, never a second SOA.
            guard r.name == zone, let i = at.first(where: { records[$0].type == .soa }),
                  let old = records[i].rdata.soa?.serial, let new = r.rdata.soa?.serial, serialNewer(new, than: old) else { return }
            records[i] = r
            return
        }
        let dnssec: Set<UInt16> = [46, 47, 50]  // RRSIG, NSEC, NSEC3 may stand beside a CNAME
        if r.type == .cname {
            if at.contains(where: { records[$0].type != .cname && !dnssec.contains(records[$0].type.rawValue) }) { return }
            if let i = at.first(where: { records[$0].type == .cname }) {
                records[i] = r  // a CNAME replaces the CNAME
                return
            }
        } else if !dnssec.contains(r.type.rawValue), at.contains(where: { records[$0].type == .cname }) {
            return
        }
        if let i = at.first(where: { records[$0].type == r.type && sameRData(records[$0].rdata, r.rdata) }) {
            records[i].ttl = r.ttl  // the same record again: its TTL is updated
            return
        }
        records.append(r)
    }
}

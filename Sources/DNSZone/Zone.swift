import DNSWire

/// All records of one owner name and type. TTLs within an RRset are equal (RFC 2181 §5.2).
public struct RRSet: Sendable, Equatable {
    public var name: DNSName
    public var type: RRType
    public var ttl: UInt32
    public var rdatas: [RData]

    public init(name: DNSName, type: RRType, ttl: UInt32, rdatas: [RData]) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.rdatas = rdatas
    }

    public func records(owner: DNSName? = nil, ttl override: UInt32? = nil) -> [ResourceRecord] {
        rdatas.map { ResourceRecord(name: owner ?? name, type: type, ttl: override ?? ttl, rdata: $0) }
    }
}

/// One owner name in a zone, with flags precomputed at build time (NSD's `struct domain`, Knot's node flags).
public struct Node: Sendable {
    public var rrsets: [RRType: RRSet] = [:]
    /// NS here and not at the apex: a zone cut.
    public var isDelegation = false
    /// Strictly below a zone cut: only glue lives here; never answered authoritatively.
    public var isOccluded = false
    /// Exists only because names below it do (RFC 8020 / RFC 4592 §2.2.2).
    public var isEmptyNonTerminal: Bool { rrsets.isEmpty }
}

/// What a zone does with questions it has no data for (Unbound's `transparent`/`typetransparent`, CoreDNS's
/// `fallthrough`): answer them itself (a normal authoritative zone), or let the resolver answer them, as
/// dnsmasq does for names under a domain it holds only some records of.
public enum Fallthrough: Int, Sendable, CaseIterable, CustomStringConvertible {
    /// Authoritative: NXDOMAIN and NODATA are answered from the zone.
    case off = 0
    /// Names the zone does not have (NXDOMAIN) are resolved; NODATA is answered from the zone.
    case names = 1
    /// Names and name+type pairs the zone has no data for (NXDOMAIN and NODATA) are resolved (dnsmasq).
    case types = 2

    public var description: String { ["off", "names", "types"][rawValue] }
    public init?(text: String) {
        guard let m = Self.allCases.first(where: { $0.description == text.lowercased() }) else { return nil }
        self = m
    }
}

/// An immutable zone: built once, then read by any number of threads.
public final class Zone: Sendable {
    public let origin: DNSName
    public let fallthroughMode: Fallthrough
    public let soa: SOA
    public let soaTTL: UInt32
    public let nodes: [DNSName: Node]
    public let recordCount: Int
    /// False when the zone has no cut: lookups then skip the walk down from the apex.
    let hasDelegations: Bool

    init(origin: DNSName, soa: SOA, soaTTL: UInt32, nodes: [DNSName: Node], recordCount: Int, fallthroughMode: Fallthrough) {
        self.origin = origin
        self.fallthroughMode = fallthroughMode
        self.soa = soa
        self.soaTTL = soaTTL
        self.nodes = nodes
        self.recordCount = recordCount
        self.hasDelegations = nodes.values.contains { $0.isDelegation }
    }

    /// The SOA record to put in the authority section of a negative answer: TTL is min(SOA TTL, MINIMUM)
    /// (RFC 2308 §3).
    public var negativeSOA: ResourceRecord {
        ResourceRecord(name: origin, type: .soa, ttl: min(soaTTL, soa.minimum), rdata: .soa(soa))
    }

    public func rrset(_ name: DNSName, _ type: RRType) -> RRSet? { nodes[name]?.rrsets[type] }

    /// RFC 1034 §4.3.2 with RFC 4592 wildcards, for one name in this zone (no chain following).
    public func lookup(_ qname: DNSName, _ qtype: RRType) -> LookupResult {
        // Walk down from just below the apex: the first cut on the way is a referral (DS at the cut itself is the
        // parent's data and is answered here).
        let extra = qname.labelCount - origin.labelCount
        guard extra >= 0 else { return .notInZone }
        var i = 1
        while hasDelegations && i <= extra {
            let name = qname.suffix(labels: origin.labelCount + i)
            if let node = nodes[name], node.isDelegation, let ns = node.rrsets[.ns] {
                if i == extra && qtype == .ds {
                    break
                }
                return .delegation(cut: name, ns: ns)
            }
            i += 1
        }
        if let node = nodes[qname] {
            return answer(from: node, owner: qname, qtype: qtype, wildcard: false)
        }
        // Closest encloser: the longest existing ancestor (ENTs exist). Its wildcard child, if any, answers.
        var encloser = qname.parent
        while let e = encloser, e.labelCount >= origin.labelCount {
            if nodes[e] != nil {
                if let star = e.wildcardChild(), let wnode = nodes[star] {
                    return answer(from: wnode, owner: qname, qtype: qtype, wildcard: true)
                }
                return .nxDomain
            }
            encloser = e.parent
        }
        return .nxDomain
    }

    func answer(from node: Node, owner: DNSName, qtype: RRType, wildcard: Bool) -> LookupResult {
        if qtype == .any {
            // RFC 8482 §4.2: answer with one RRset rather than everything; CNAME wins, then the lowest type.
            if let c = node.rrsets[.cname] { return .answer(c, synthesizedOwner: wildcard ? owner : nil) }
            guard let first = node.rrsets.keys.sorted().first, let set = node.rrsets[first] else { return .noData }
            return .answer(set, synthesizedOwner: wildcard ? owner : nil)
        }
        if let set = node.rrsets[qtype] { return .answer(set, synthesizedOwner: wildcard ? owner : nil) }
        if let c = node.rrsets[.cname] { return .cname(c, synthesizedOwner: wildcard ? owner : nil) }
        return .noData
    }
}

/// The outcome of looking a name up in one zone.
public enum LookupResult: Sendable, Equatable {
    case answer(RRSet, synthesizedOwner: DNSName?)
    case cname(RRSet, synthesizedOwner: DNSName?)
    case noData
    case nxDomain
    case delegation(cut: DNSName, ns: RRSet)
    case notInZone
}

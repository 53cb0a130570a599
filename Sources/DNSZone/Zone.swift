import DNSWire

/// All records of one owner name and type. TTLs within an RRset are equal (RFC 2181 §5.2).
public struct RRSet: Sendable, Equatable {
    public var name: DNSName
    public var type: RRType
    public var ttl: UInt32
    public var rdatas: RDatas

    public init(name: DNSName, type: RRType, ttl: UInt32, rdatas: RDatas) {
        self.name = name
        self.type = type
        self.ttl = ttl
        self.rdatas = rdatas
    }

    public func records(owner: DNSName? = nil, ttl override: UInt32? = nil) -> [ResourceRecord] {
        rdatas.map { ResourceRecord(name: owner ?? name, type: type, ttl: override ?? ttl, rdata: $0) }
    }
}

/// The RDATA of one RRset in the order added. Nearly every RRset of a large zone has one record, so the first
/// is held inline and only the rest in an array: a one-record RRset costs no allocation of its own.
public struct RDatas: RandomAccessCollection, Sendable, Equatable, ExpressibleByArrayLiteral {
    // `tail` first: Swift lays fields out in order and the next field may use a struct's tail padding, so
    // the 17-byte optional last leaves 7 bytes an enclosing RRSet, RRSets and Node can use (8 bytes a node).
    private var tail: [RData] = []
    /// Nil only when empty; `tail` is then empty too, so the synthesized equality is element-wise.
    private var head: RData?

    public init() {}
    public init(_ items: some Sequence<RData>) { for r in items { append(r) } }
    public init(arrayLiteral items: RData...) { self.init(items) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { head == nil ? 0 : 1 + tail.count }
    public subscript(i: Int) -> RData {
        if i == 0, let h = head { return h }
        return tail[i - 1]
    }

    public mutating func append(_ r: RData) {
        if head == nil { head = r } else { tail.append(r) }
    }

    @discardableResult
    public mutating func remove(at i: Int) -> RData {
        guard i == 0, let h = head else { return tail.remove(at: i - 1) }
        head = tail.isEmpty ? nil : tail.removeFirst()
        return h
    }
}

/// The RRsets of one name, in type order. Most names hold one, so the lowest is held inline and the others in
/// a short array searched in order: no hashing on the query path and, for a one-RRset name, no allocation.
public struct RRSets: Sendable, Equatable {
    /// The types above `head`'s, in order. First, so that `head`'s tail padding is left for Node's flags.
    private var tail: [RRSet] = []
    /// The RRset of the lowest type, or `none` (type 0, which no zone holds) when empty. Not an optional:
    /// reading a field of an optional RRset copied the whole RRset out (a retain of its name and RDATA), and
    /// the zone check reads the head type of every node.
    private var head = RRSets.none
    private static let none = RRSet(name: .root, type: RRType(0), ttl: 0, rdatas: [])

    public init() {}

    /// Whether `type` is the head's (type 0 never is: it marks an empty head).
    @inline(__always) private func isHead(_ type: RRType) -> Bool { head.type == type && type.rawValue != 0 }

    public subscript(type: RRType) -> RRSet? {
        get {
            if isHead(type) { return head }
            for s in tail where s.type == type { return s }
            return nil
        }
        set {
            guard type.rawValue != 0 else { return }  // reserved (RFC 6895 §3.1); the zone checks reject it
            if isHead(type) {
                if let v = newValue { head = v } else { head = tail.isEmpty ? Self.none : tail.removeFirst() }
            } else if let i = tail.firstIndex(where: { $0.type == type }) {
                if let v = newValue { tail[i] = v } else { tail.remove(at: i) }
            } else if let v = newValue {
                if isEmpty { head = v; return }
                if v.type.rawValue < head.type.rawValue {
                    tail.insert(head, at: 0)
                    head = v
                } else {
                    tail.insert(v, at: tail.firstIndex { $0.type.rawValue > v.type.rawValue } ?? tail.count)
                }
            }
        }
    }

    /// Runs `body` on the RRset of `type` in place (no copy of its RDATA array); nil when there is none.
    mutating func modify<R>(_ type: RRType, _ body: (inout RRSet) -> R) -> R? {
        if isHead(type) { return body(&head) }
        guard let i = tail.firstIndex(where: { $0.type == type }) else { return nil }
        return body(&tail[i])
    }

    /// Whether an RRset of `type` is here, without copying it out.
    public func holds(_ type: RRType) -> Bool {
        if isHead(type) { return true }
        return tail.contains { $0.type == type }
    }

    /// Whether the RRsets at `p` include one of three types. Read through a pointer, field by field: a method
    /// call on a node's RRsets, even through a pointer or a borrow, copied them (a retain of all they hold),
    /// and the zone check asks this of every node.
    static func holdAny(_ p: UnsafePointer<RRSets>, _ a: RRType, _ b: RRType, _ c: RRType) -> Bool {
        let h = p.pointee.head.type
        if h.rawValue != 0 && (h == a || h == b || h == c) { return true }
        return p.pointee.tail.contains { $0.type == a || $0.type == b || $0.type == c }
    }

    public var isEmpty: Bool { head.type.rawValue == 0 }
    public var count: Int { isEmpty ? 0 : 1 + tail.count }
    /// The RRset of the lowest type.
    public var first: RRSet? { isEmpty ? nil : head }
    /// The types held, lowest first.
    public var types: [RRType] { values.map(\.type) }
    /// The RRsets, lowest type first.
    public var values: [RRSet] { isEmpty ? [] : [head] + tail }

    /// Each RRset, lowest type first, without building the array `values` makes (a zone transfer visits every
    /// node).
    func forEach(_ body: (RRSet) -> Void) {
        guard !isEmpty else { return }
        body(head)
        for s in tail { body(s) }
    }
}

/// One owner name in a zone, with its flags kept right at every change (NSD's `struct domain`, Knot's node flags).
public struct Node: Sendable {
    public var rrsets = RRSets()
    /// NS here and not at the apex: a zone cut.
    public var isDelegation = false
    /// How many names one label longer exist: a name with no data and no children is removed.
    var children: UInt32 = 0
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

/// An immutable zone, read by any number of threads. A change makes a new `Zone` that shares every node
/// shard the change did not touch (`applying`), so the old snapshot stays valid for readers still on it.
public final class Zone: Sendable {
    public let origin: DNSName
    public let fallthroughMode: Fallthrough
    public let soa: SOA
    public let soaTTL: UInt32
    let contents: ZoneContents
    public var recordCount: Int { contents.recordCount }
    /// False when the zone has no cut: lookups then skip the walk down from the apex.
    var hasDelegations: Bool { contents.delegations > 0 }

    /// Nil when the contents have no single SOA at the apex (the builder and the store's checks prevent that).
    init?(contents: ZoneContents, fallthroughMode: Fallthrough) {
        guard let set = contents.nodes[contents.origin]?.rrsets[.soa], set.rdatas.count == 1, case .soa(let soa) = set.rdatas[0] else { return nil }
        origin = contents.origin
        self.contents = contents
        self.fallthroughMode = fallthroughMode
        self.soa = soa
        soaTTL = set.ttl
        negativeSOA = ResourceRecord(name: origin, type: .soa, ttl: min(set.ttl, soa.minimum), rdata: set.rdatas[0])
    }

    public func node(_ name: DNSName) -> Node? { contents.nodes[name] }

    /// Every node, for tools and tests (order unspecified).
    public var allNodes: [(name: DNSName, node: Node)] { contents.nodes.all.map { ($0.key, $0.value) } }

    /// This zone with one change applied: `removed` first, then `added`, exactly as the store committed them
    /// (so already checked). Nil if the result has lost its SOA: the caller loads the zone whole instead.
    public func applying(removed: [ResourceRecord], added: [ResourceRecord]) -> Zone? {
        var c = contents
        for r in removed { c.remove(r) }
        for r in added where r.name.isSubdomain(of: origin) { c.add(r) }
        return Zone(contents: c, fallthroughMode: fallthroughMode)
    }

    /// The same data with another fallthrough mode (shares everything).
    public func with(fallthroughMode mode: Fallthrough) -> Zone {
        mode == fallthroughMode ? self : Zone(contents: contents, fallthroughMode: mode)!
    }

    /// True when a cut lies strictly between the apex and `name`: such a name is glue (or junk), never
    /// answered authoritatively. Computed on use, so a new cut needs no walk over the names below it.
    public func isOccluded(_ name: DNSName) -> Bool {
        guard hasDelegations else { return false }
        var p = name.parent
        while let a = p, a.labelCount > origin.labelCount {
            if contents.nodes[a]?.isDelegation == true { return true }
            p = a.parent
        }
        return false
    }

    /// The SOA record to put in the authority section of a negative answer: TTL is min(SOA TTL, MINIMUM)
    /// (RFC 2308 §3). Made once, so a negative answer does not box a new SOA payload (`indirect`).
    public let negativeSOA: ResourceRecord

    public func rrset(_ name: DNSName, _ type: RRType) -> RRSet? { contents.nodes[name]?.rrsets[type] }

    /// RFC 1034 §4.3.2 with RFC 4592 wildcards, for one name in this zone (no chain following).
    public func lookup(_ qname: DNSName, _ qtype: RRType) -> LookupResult {
        // Walk down from just below the apex: the first cut on the way is a referral (DS at the cut itself is the
        // parent's data and is answered here).
        let extra = qname.labelCount - origin.labelCount
        guard extra >= 0 else { return .notInZone }
        var i = 1
        while hasDelegations && i <= extra {
            let name = qname.suffix(labels: origin.labelCount + i)
            if let node = contents.nodes[name], node.isDelegation, let ns = node.rrsets[.ns] {
                if i == extra && qtype == .ds {
                    break
                }
                return .delegation(cut: name, ns: ns)
            }
            i += 1
        }
        if let node = contents.nodes[qname] {
            return answer(from: node, owner: qname, qtype: qtype, wildcard: false)
        }
        // Closest encloser: the longest existing ancestor (ENTs exist). Its wildcard child, if any, answers.
        var encloser = qname.parent
        while let e = encloser, e.labelCount >= origin.labelCount {
            if contents.nodes[e] != nil {
                if let star = e.wildcardChild(), let wnode = contents.nodes[star] {
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
            guard let set = node.rrsets.first else { return .noData }
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

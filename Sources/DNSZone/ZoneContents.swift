import DNSWire

/// The nodes of a zone, split into shards by a hash of the name. A change copies only the shards it touches;
/// the snapshot before it keeps sharing every other shard, so an edit of a million-name zone copies a few
/// dozen nodes, not the zone (Knot's per-change update of its zone tree, done with copy-on-write values).
struct NodeMap: Sendable {
    /// A name with its hash computed once: the shard choice and the dictionary both use it, and a probe
    /// compares hashes before bytes.
    struct Key: Hashable, Sendable {
        let name: DNSName
        let hash: UInt64
        @inline(__always) init(_ name: DNSName) {
            self.name = name
            hash = name.foldedHash
        }
        func hash(into h: inout Hasher) { h.combine(hash) }
        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.name == b.name }
    }

    private(set) var shards: [[Key: Node]]
    private var mask: Int
    private(set) var count = 0

    /// Nodes per shard aimed for: small enough that copying one is cheap, large enough that the shard array
    /// itself stays small next to the nodes.
    static let targetPerShard = 64
    /// A shard count is kept until the zone grows to this many nodes per shard, then quadrupled.
    static let maxPerShard = 512

    init(expected: Int) {
        var n = 1
        while n * Self.targetPerShard < expected && n < 1 << 20 { n <<= 1 }
        mask = n - 1
        let each = expected / n
        shards = (0..<n).map { _ in
            var d: [Key: Node] = [:]
            d.reserveCapacity(each)
            return d
        }
    }

    @inline(__always) private func shard(_ key: Key) -> Int {
        Int(truncatingIfNeeded: key.hash ^ (key.hash >> 29)) & mask
    }

    subscript(name: DNSName) -> Node? {
        get {
            let k = Key(name)
            return shards[shard(k)][k]
        }
        set {
            let k = Key(name)
            let i = shard(k)
            if let v = newValue {
                if shards[i].updateValue(v, forKey: k) == nil { inserted() }
            } else if shards[i].removeValue(forKey: k) != nil {
                count -= 1
            }
        }
    }

    /// Runs `body` on the node at `name` in place (one hash and one probe when it exists); for a missing name
    /// `body` fills a new empty node, is told so, and the node is inserted.
    mutating func modify<R>(_ name: DNSName, _ body: (inout Node, _ created: Bool) -> R) -> R {
        let k = Key(name)
        let i = shard(k)
        if let at = shards[i].index(forKey: k) { return body(&shards[i].values[at], false) }
        var node = Node()
        let r = body(&node, true)
        shards[i][k] = node
        inserted()
        return r
    }

    /// Every node (order unspecified).
    var all: some Sequence<(key: DNSName, value: Node)> { shards.lazy.flatMap { $0 }.map { ($0.key.name, $0.value) } }

    /// Counts a new node; past `maxPerShard` on average, the shards are split.
    private mutating func inserted() {
        count += 1
        if count > shards.count * Self.maxPerShard { reshard() }
    }

    private mutating func reshard() {
        var bigger = NodeMap(expected: count * 4)
        for shard in shards { for (k, v) in shard { bigger.shards[bigger.shard(k)][k] = v } }
        bigger.count = count
        self = bigger
    }
}

/// A zone's records as nodes with their flags kept right under every change: empty non-terminals above each
/// name (RFC 4592 §2.2.2), child counts so a removed leaf takes its empty ancestors with it, the cut flag,
/// and counts. The one place that changes a zone's data; the builder and the per-change update both use it.
/// Records given here have passed the zone checks (the builder's, or the store's before it committed).
struct ZoneContents: Sendable {
    let origin: DNSName
    private(set) var nodes: NodeMap
    private(set) var recordCount = 0
    private(set) var delegations = 0

    init(origin: DNSName, expectedNames: Int) {
        self.origin = origin
        nodes = NodeMap(expected: expectedNames)
        nodes[origin] = Node()
    }

    /// What `add` did.
    enum Added: Equatable { case added, duplicate, addedWithRRsetTTL(UInt32) }

    /// Adds one record. A record already present is left as it is. `keepTTL` false: the RRset takes the
    /// record's TTL (a journal entry carries the RRset's new TTL); true: a record joining an RRset takes the
    /// RRset's TTL, as a zone file load does (RFC 2181 §5.2, first TTL wins).
    @discardableResult
    mutating func add(_ rr: ResourceRecord, keepTTL: Bool = false) -> Added {
        let origin = origin
        var created = false
        let (outcome, delta) = nodes.modify(rr.name) { (node, isNew) -> (Added, Int) in
            created = isNew
            var outcome = Added.added
            if var set = node.rrsets[rr.type] {
                guard !set.rdatas.contains(rr.rdata) else { return (.duplicate, 0) }
                if set.ttl != rr.ttl { if keepTTL { outcome = .addedWithRRsetTTL(set.ttl) } else { set.ttl = rr.ttl } }
                set.rdatas.append(rr.rdata)
                node.rrsets[rr.type] = set
            } else {
                node.rrsets[rr.type] = RRSet(name: rr.name, type: rr.type, ttl: rr.ttl, rdatas: [rr.rdata])
            }
            return (outcome, Self.recomputeCut(&node, at: rr.name, origin: origin))
        }
        if outcome != .duplicate { recordCount += 1 }
        delegations += delta
        if created { link(rr.name) }
        return outcome
    }

    /// Sets a node's cut flag from its data; returns the change in the number of cuts.
    private static func recomputeCut(_ node: inout Node, at name: DNSName, origin: DNSName) -> Int {
        let was = node.isDelegation
        node.isDelegation = node.rrsets[.ns] != nil && name != origin
        return (node.isDelegation ? 1 : 0) - (was ? 1 : 0)
    }

    /// A node just made counts as its parent's child; a parent that did not exist is made (an empty
    /// non-terminal) and linked the same way, up to the first ancestor that existed (the apex at worst).
    private mutating func link(_ name: DNSName) {
        var child = name
        while child != origin, let p = child.parent {
            let parentIsNew = nodes.modify(p) { (node, isNew) -> Bool in
                node.children += 1
                return isNew
            }
            guard parentIsNew else { return }
            child = p
        }
    }

    /// Removes one record if present; a name left with no data and no children goes, and so do the empty
    /// non-terminals that existed only for it.
    mutating func remove(_ rr: ResourceRecord) {
        guard var node = nodes[rr.name], var set = node.rrsets[rr.type], let i = set.rdatas.firstIndex(of: rr.rdata) else { return }
        set.rdatas.remove(at: i)
        node.rrsets[rr.type] = set.rdatas.isEmpty ? nil : set
        recordCount -= 1
        store(rr.name, node)
        prune(rr.name)
    }

    /// Writes a node back with its cut flag recomputed, keeping the delegation count.
    private mutating func store(_ name: DNSName, _ node: Node) {
        var node = node
        delegations += Self.recomputeCut(&node, at: name, origin: origin)
        nodes[name] = node
    }

    private mutating func prune(_ name: DNSName) {
        var name = name
        while name != origin, let n = nodes[name], n.rrsets.isEmpty, n.children == 0 {
            nodes[name] = nil
            guard let p = name.parent, var parent = nodes[p] else { return }
            parent.children -= 1
            nodes[p] = parent
            name = p
        }
    }
}

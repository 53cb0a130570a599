import DNSWire

/// The nodes of a zone, split into shards by a hash of the name. A change copies only the shards it touches;
/// the snapshot before it keeps sharing every other shard, so an edit of a million-name zone copies a few
/// dozen nodes, not the zone (Knot's per-change update of its zone tree, done with copy-on-write values).
struct NodeMap: Sendable {
    private(set) var shards: [[DNSName: Node]]
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
            var d: [DNSName: Node] = [:]
            d.reserveCapacity(each)
            return d
        }
    }

    @inline(__always) private func shard(_ name: DNSName) -> Int {
        let h = name.foldedHash
        return Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
    }

    subscript(name: DNSName) -> Node? {
        get { shards[shard(name)][name] }
        set {
            let i = shard(name)
            if let v = newValue {
                guard shards[i].updateValue(v, forKey: name) == nil else { return }
                count += 1
                if count > shards.count * Self.maxPerShard { reshard() }
            } else if shards[i].removeValue(forKey: name) != nil {
                count -= 1
            }
        }
    }

    /// Every node (order unspecified).
    var all: some Sequence<(key: DNSName, value: Node)> { shards.lazy.flatMap { $0 } }

    private mutating func reshard() {
        var bigger = NodeMap(expected: count * 4)
        for (k, v) in all { bigger.shards[bigger.shard(k)][k] = v }
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

    /// Puts a whole RRset at its owner, replacing one of the same type.
    mutating func put(_ set: RRSet) {
        var node = ensureNode(set.name)
        recordCount += set.rdatas.count - (node.rrsets[set.type]?.rdatas.count ?? 0)
        node.rrsets[set.type] = set
        store(set.name, node)
    }

    /// Adds one record; the RRset takes the record's TTL (the store keeps one TTL per RRset). A record already
    /// present is left as it is.
    mutating func add(_ rr: ResourceRecord) {
        var node = ensureNode(rr.name)
        var set = node.rrsets[rr.type] ?? RRSet(name: rr.name, type: rr.type, ttl: rr.ttl, rdatas: [])
        guard !set.rdatas.contains(rr.rdata) else { return }
        set.ttl = rr.ttl
        set.rdatas.append(rr.rdata)
        node.rrsets[rr.type] = set
        recordCount += 1
        store(rr.name, node)
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
        let was = node.isDelegation
        node.isDelegation = name != origin && node.rrsets[.ns] != nil
        delegations += (node.isDelegation ? 1 : 0) - (was ? 1 : 0)
        nodes[name] = node
    }

    /// The node at `name`, created with every missing ancestor up to the apex (each counting its new child).
    private mutating func ensureNode(_ name: DNSName) -> Node {
        if let n = nodes[name] { return n }
        var missing = [name]
        var p = name.parent
        while let a = p, a.labelCount > origin.labelCount, nodes[a] == nil {
            missing.append(a)
            p = a.parent
        }
        // `p` is the nearest existing ancestor (the apex at worst): it gains one child, each new name below
        // it one too, except the last.
        if let top = p, var n = nodes[top] {
            n.children += 1
            nodes[top] = n
        }
        for (k, m) in missing.enumerated() {
            var n = Node()
            n.children = k == 0 ? 0 : 1
            nodes[m] = n
        }
        return nodes[name] ?? Node()
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

import DNSWire

/// The nodes of a zone, split into shards by a hash of the name. A change copies only the shards it touches;
/// the snapshot before it keeps sharing every other shard, so an edit of a million-name zone copies a few
/// dozen nodes, not the zone (Knot's per-change update of its zone tree, done with copy-on-write values).
struct NodeMap: Sendable {
    /// A name with its hash computed once: the shard choice and the slot choice both use it, and a probe
    /// compares hashes before bytes.
    struct Key: Hashable, Sendable {
        let name: DNSName
        let hash: UInt64
        @inline(__always) init(_ name: DNSName) { self.init(name, hash: Self.hash(name)) }
        @inline(__always) init(_ name: DNSName, hash: UInt64) {
            self.name = name
            self.hash = hash
        }
        @inline(__always) static func hash(_ name: DNSName) -> UInt64 {
            // FNV-1a leaves its low and high bits weakly mixed; the shard takes the low bits and the slot the
            // high ones, so finish with a full 64-bit mix (MurmurHash3's fmix64).
            var h = name.foldedHash
            h = (h ^ (h >> 33)) &* 0xff51_afd7_ed55_8ccd
            h = (h ^ (h >> 33)) &* 0xc4ce_b9fe_1a85_ec53
            return h ^ (h >> 33)
        }
        func hash(into h: inout Hasher) { h.combine(hash) }
        static func == (a: Key, b: Key) -> Bool { a.hash == b.hash && a.name == b.name }
    }

    /// A node and its name. The name's hash is not kept: the slot's tag already passes over other keys, and
    /// only a removal or a rehash (off the query path, a shard at a time) needs it again. 8 bytes a node.
    struct Entry: Sendable {
        let name: DNSName
        var node: Node
    }

    /// One shard: its nodes stored densely, found through an open-addressed table of their indexes (linear
    /// probing, at most 3/4 full). Denser than a dictionary of nodes, whose buckets are half empty on average
    /// and each the size of a node. A slot also holds 32 bits of the key's hash, so a probe passes over
    /// other keys without reading their entries (a cache miss each in a large zone).
    /// The table is any length, not a power of two (the home slot is the tag scaled to it): sized to the
    /// nodes it holds, it costs 1.3–1.7 slots a node, where doubling cost 1.3–2.7. Because the home slot
    /// follows from the tag, a rehash or a removal finds every slot's home without reading its entry or
    /// hashing its name again (entries keep no hash).
    struct Shard: Sendable {
        private(set) var entries: [Entry] = []
        /// 0: empty; else the tag in the high half and the entry index + 1 in the low.
        private var slots: [UInt64] = []

        init(capacity: Int) {
            entries.reserveCapacity(capacity)
            slots = [UInt64](repeating: 0, count: Self.slotCount(for: capacity))
        }

        /// Slots for `n` entries at most 3/4 full, so every probe run ends at an empty slot.
        private static func slotCount(for n: Int) -> Int { max(8, n + n / 3 + 1) }

        /// The hash's bits 32–63, in place: independent of the shard's bits (the lowest).
        @inline(__always) private static func tag(_ key: Key) -> UInt64 { key.hash & 0xFFFF_FFFF_0000_0000 }
        /// A tag scaled to the table (Lemire's multiply-shift), uniform over any length. Keys of one probe run
        /// share the tag's top bits; the other 20-odd still tell them apart.
        @inline(__always) private func home(tag: UInt64) -> Int {
            Int(truncatingIfNeeded: ((tag >> 32) &* UInt64(slots.count)) >> 32)
        }
        @inline(__always) private func home(_ key: Key) -> Int { home(tag: Self.tag(key)) }
        @inline(__always) private func next(_ i: Int) -> Int { i + 1 == slots.count ? 0 : i + 1 }

        /// The index of the entry for `key`, if present.
        @inline(__always) func find(_ key: Key) -> Int? {
            let tag = Self.tag(key)
            var i = home(key)
            while true {
                let v = slots[i]
                if v == 0 { return nil }
                if v & 0xFFFF_FFFF_0000_0000 == tag {
                    let e = Int(truncatingIfNeeded: v & 0xFFFF_FFFF) - 1
                    if entries[e].name == key.name { return e }
                }
                i = next(i)
            }
        }

        @inline(__always) private func slot(ofEntry e: Int) -> Int {
            let want = UInt64(e + 1)
            var i = home(Key(entries[e].name))
            while slots[i] & 0xFFFF_FFFF != want { i = next(i) }
            return i
        }

        /// Runs `body` on the node at `index` in place.
        @inline(__always) mutating func modify<R>(at index: Int, _ body: (inout Node) -> R) -> R { body(&entries[index].node) }

        /// Adds an entry for a key not present. Growth is by an eighth, not the array's doubling: a shard is
        /// copied on its first change after a snapshot, and doubling would leave every edited shard half empty.
        mutating func insert(_ key: Key, _ node: Node) {
            if (entries.count + 1) * 4 > slots.count * 3 { rehash(Self.slotCount(for: entries.count + max(4, entries.count / 8))) }
            if entries.count == entries.capacity { entries.reserveCapacity(entries.count + max(4, entries.count / 8)) }
            place(key, entries.count)
            entries.append(Entry(name: key.name, node: node))
        }

        private mutating func place(_ key: Key, _ e: Int) {
            var i = home(key)
            while slots[i] != 0 { i = next(i) }
            slots[i] = Self.tag(key) | UInt64(e + 1)
        }

        /// Removes the entry at `index`: its slot is closed by shifting the probe run back (no tombstones), and
        /// the last entry moves into its place.
        mutating func remove(at index: Int) {
            var hole = slot(ofEntry: index)
            var j = next(hole)
            while slots[j] != 0 {
                let h = home(tag: slots[j] & 0xFFFF_FFFF_0000_0000)
                // The entry at j may fill the hole unless its home lies cyclically in (hole, j].
                let stays = hole < j ? (h > hole && h <= j) : (h > hole || h <= j)
                if !stays {
                    slots[hole] = slots[j]
                    hole = j
                }
                j = next(j)
            }
            slots[hole] = 0
            let last = entries.count - 1
            if index != last {
                let s = slot(ofEntry: last)
                slots[s] = slots[s] & 0xFFFF_FFFF_0000_0000 | UInt64(index + 1)
                entries.swapAt(index, last)
            }
            entries.removeLast()
        }

        private mutating func rehash(_ n: Int) {
            let old = slots
            slots = [UInt64](repeating: 0, count: n)
            for v in old where v != 0 {
                var i = home(tag: v & 0xFFFF_FFFF_0000_0000)
                while slots[i] != 0 { i = next(i) }
                slots[i] = v
            }
        }
    }

    private(set) var shards: [Shard]
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
        shards = (0..<n).map { _ in Shard(capacity: each) }
    }

    @inline(__always) private func shard(_ key: Key) -> Int { shard(key.hash) }
    @inline(__always) private func shard(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash) & mask }

    subscript(name: DNSName) -> Node? {
        get {
            let k = Key(name)
            let s = shard(k)
            guard let e = shards[s].find(k) else { return nil }
            return shards[s].entries[e].node
        }
        set {
            let k = Key(name)
            let s = shard(k)
            switch (shards[s].find(k), newValue) {
            case (let e?, let v?): shards[s].modify(at: e) { $0 = v }
            case (let e?, nil):
                shards[s].remove(at: e)
                count -= 1
            case (nil, let v?):
                shards[s].insert(k, v)
                inserted()
            case (nil, nil): break
            }
        }
    }

    /// Runs `body` on the node at `name` in place (one hash and one probe when it exists); for a missing name
    /// `body` fills a new empty node, is told so, and the node is inserted.
    @inline(__always)
    mutating func modify<R>(_ name: DNSName, _ body: (inout Node, _ created: Bool) -> R) -> R {
        modify(Key(name), body)
    }

    mutating func modify<R>(_ k: Key, _ body: (inout Node, _ created: Bool) -> R) -> R {
        let s = shard(k)
        if let e = shards[s].find(k) { return shards[s].modify(at: e) { body(&$0, false) } }
        var node = Node()
        let r = body(&node, true)
        shards[s].insert(k, node)
        inserted()
        return r
    }

    /// The positions of names, given by their `Key.hash`, grouped by the shard each falls in and in their order
    /// within a shard (so one name's positions keep theirs). Visiting a large batch of names in this order
    /// touches each shard's tables once per batch, not once per name: in a large zone those tables are far
    /// larger than the caches, and each visit is a chain of dependent misses (shard, slot table, slot, entries).
    func shardOrder(_ hashes: [UInt64]) -> [Int32] {
        var start = [Int32](repeating: 0, count: shards.count + 1)
        for h in hashes { start[shard(h) + 1] += 1 }
        for i in shards.indices { start[i + 1] += start[i] }
        var order = [Int32](repeating: 0, count: hashes.count)
        for (i, h) in hashes.enumerated() {
            let s = shard(h)
            order[Int(start[s])] = Int32(truncatingIfNeeded: i)
            start[s] += 1
        }
        return order
    }

    /// The nodes `keep` picks, with their names, read in place: a zone-wide check that copied every node would
    /// touch every name's reference count, a cache miss each in a large zone.
    /// (The node is passed by pointer: a closure taking it, even `borrowing`, got a copy of it.)
    func select(_ keep: (UnsafePointer<Node>) -> Bool) -> [(name: DNSName, node: Node)] {
        var out: [(name: DNSName, node: Node)] = []
        for s in shards.indices {
            shards[s].entries.withUnsafeBufferPointer { b in
                guard let base = b.baseAddress else { return }
                for i in b.indices {
                    guard let node = (base + i).pointer(to: \.node), keep(node) else { continue }
                    out.append((b[i].name, b[i].node))
                }
            }
        }
        return out
    }

    /// Every node (order unspecified).
    var all: some Sequence<(key: DNSName, value: Node)> { shards.lazy.flatMap(\.entries).map { ($0.name, $0.node) } }

    /// Counts a new node; past `maxPerShard` on average, the shards are split.
    private mutating func inserted() {
        count += 1
        if count > shards.count * Self.maxPerShard { reshard() }
    }

    private mutating func reshard() {
        var bigger = NodeMap(expected: count * 4)
        for shard in shards {
            for e in shard.entries {
                let k = Key(e.name)
                bigger.shards[bigger.shard(k)].insert(k, e.node)
            }
        }
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
    /// The apex's key, hashed once: most names' parent.
    private let apex: NodeMap.Key
    private(set) var nodes: NodeMap
    private(set) var recordCount = 0
    private(set) var delegations = 0

    init(origin: DNSName, expectedNames: Int) {
        self.origin = origin
        apex = NodeMap.Key(origin)
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
        add(rr, key: NodeMap.Key(rr.name), keepTTL: keepTTL)
    }

    private mutating func add(_ rr: ResourceRecord, key: NodeMap.Key, keepTTL: Bool) -> Added {
        let origin = origin
        var created = false
        let (outcome, delta) = nodes.modify(key) { (node, isNew) -> (Added, Int) in
            created = isNew
            let joined = node.rrsets.modify(rr.type) { set -> Added in
                guard !set.rdatas.contains(rr.rdata) else { return .duplicate }
                var outcome = Added.added
                if set.ttl != rr.ttl { if keepTTL { outcome = .addedWithRRsetTTL(set.ttl) } else { set.ttl = rr.ttl } }
                set.rdatas.append(rr.rdata)
                return outcome
            }
            if joined == .duplicate { return (.duplicate, 0) }
            if joined == nil { node.rrsets[rr.type] = RRSet(name: rr.name, type: rr.type, ttl: rr.ttl, rdatas: [rr.rdata]) }
            return (joined ?? .added, Self.recomputeCut(&node, at: rr.name, origin: origin))
        }
        if outcome != .duplicate { recordCount += 1 }
        delegations += delta
        if created { link(rr.name) }
        return outcome
    }

    /// Adds records as `add` would one after another, visiting the nodes shard by shard (`NodeMap.shardOrder`);
    /// `outcome` hears of each by its index in `rrs`. One name's records keep their order, and nothing else
    /// depends on the order, so the zone is the same.
    mutating func add(contentsOf rrs: ArraySlice<ResourceRecord>, keepTTL: Bool, _ outcome: (Int, Added) -> Void) {
        var hashes: [UInt64] = []
        hashes.reserveCapacity(rrs.count)
        for r in rrs { hashes.append(NodeMap.Key.hash(r.name)) }
        for i in nodes.shardOrder(hashes) {
            // Read in place: a copy of the record would retain and release its name once more.
            let at = rrs.startIndex + Int(i)
            outcome(at, add(rrs[at], key: NodeMap.Key(rrs[at].name, hash: hashes[Int(i)]), keepTTL: keepTTL))
        }
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
        // A name one label below the apex (every name of a flat zone) links to the apex, which always exists:
        // no parent name is made and hashed.
        if name.wire.count - Int(name.wire[0]) - 1 == origin.wire.count {
            nodes.modify(apex) { (node, _) in node.children += 1 }
            return
        }
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

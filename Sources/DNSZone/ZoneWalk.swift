import DNSWire

/// Every record of one zone snapshot, handed out a few nodes at a time: a zone transfer streams a large zone
/// message by message, and holding the snapshot keeps what it sends consistent however the served zone changes
/// meanwhile. The apex SOA is left out (a transfer sends it first and last); order is the node map's.
public struct ZoneWalk: Sendable {
    public let zone: Zone
    private var shard = 0
    private var entry = 0

    public init(_ zone: Zone) { self.zone = zone }

    public var isDone: Bool { shard >= zone.contents.nodes.shards.count }

    /// Appends the records of up to `nodes` more nodes to `out`. False once nothing is left.
    public mutating func next(nodes limit: Int, into out: inout [ResourceRecord]) -> Bool {
        let shards = zone.contents.nodes.shards
        let origin = zone.origin
        var taken = 0
        while shard < shards.count, taken < limit {
            shards[shard].entries.withUnsafeBufferPointer { entries in
                while entry < entries.count, taken < limit {
                    let isApex = entries[entry].name == origin
                    entries[entry].node.rrsets.forEach { set in
                        guard !(isApex && set.type == .soa) else { return }
                        for rd in set.rdatas { out.append(ResourceRecord(name: set.name, type: set.type, ttl: set.ttl, rdata: rd)) }
                    }
                    entry += 1
                    taken += 1
                }
            }
            if entry >= shards[shard].entries.count {
                shard += 1
                entry = 0
            }
        }
        return !isDone || taken > 0
    }
}

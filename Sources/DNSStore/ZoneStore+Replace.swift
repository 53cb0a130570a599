import DNSWire
import DNSZone

#if canImport(Glibc)
import Glibc
#endif

/// Replacing a zone's contents (a re-import): the stored rows are walked in key order beside the new records
/// sorted the same way, so the old side is read row by row and never held. A re-import of a million records
/// costs the new zone and its sorted keys, not a copy of the old zone and a set of its keys (680 MB before).
extension ZoneStore {
    /// `exactSerial`: a secondary's AXFR, whose SOA is stored as the primary sent it. `checked`: the zone
    /// checks' outcome for `proposed`, when they ran already (an import's, beside the parsing).
    func replace(zoneID id: Int64, origin: DNSName, new proposed: [ResourceRecord], dryRun: Bool, exactSerial: Bool = false,
                 checked done: ImportStream.Outcome? = nil) throws(StoreError) -> ZoneDiff {
        let new: [ResourceRecord], warnings: [String]
        if let done {
            warnings = try Self.verdict(done.problems)
            new = Self.settled(proposed, done.changed) ?? proposed
        } else {
            // The built zone serves the checks only, and goes before the stored rows are walked: the peak is
            // the records and the zone, or the records and their sorted keys, never all three.
            var b = ZoneBuilder(origin: origin, expectedRecords: proposed.count)
            new = Self.settle(proposed, in: &b)
            warnings = try checked(&b, zoneID: id, partial: nil)
        }
        let apex = new.firstIndex { $0.type == .soa && $0.name == origin }
        var (added, removed, oldSOA) = try merge(zoneID: id, origin: origin, new: new, skipping: apex)
        var diff = ZoneDiff(zone: origin)
        guard !added.isEmpty || !removed.isEmpty || Self.differ(oldSOA, apex.map { new[$0] }, ignoringSerial: !exactSerial) else {
            diff.serial = oldSOA?.rdata.soa?.serial
            return diff
        }
        // The new SOA on its own: setting its serial inside `new` would copy the caller's million records.
        let newSOA = apex.map { exactSerial ? new[$0] : bumped(new[$0], after: oldSOA?.rdata.soa?.serial ?? 0, keepNewer: true) }
        if Self.differ(oldSOA, newSOA, ignoringSerial: false) {
            if let oldSOA { removed.insert(oldSOA, at: 0) }
            if let newSOA { added.insert(newSOA, at: 0) }
        }
        diff.serial = newSOA?.rdata.soa?.serial
        diff.warnings = warnings
        diff.added = added
        diff.removed = removed
        if !dryRun { try apply(zoneID: id, added: added, removed: removed) }
        return diff
    }

    /// Two SOA records (either may be missing) differ, TTL included; with `ignoringSerial`, apart from serials.
    static func differ(_ a: ResourceRecord?, _ b: ResourceRecord?, ignoringSerial: Bool) -> Bool {
        guard let a, let b else { return (a == nil) != (b == nil) }
        return Key(a, ignoringSerial: ignoringSerial) != Key(b, ignoringSerial: ignoringSerial)
    }

    /// The difference between the stored zone and `new` apart from the apex SOA (index `skipping` of `new`),
    /// which comes back as stored. Records are the same when their keys (owner lowercased, type, canonical
    /// RDATA) and TTLs are: a change of case alone is no change, as a zone compares names.
    func merge(zoneID id: Int64, origin: DNSName, new: [ResourceRecord], skipping apex: Int?) throws(StoreError)
        -> (added: [ResourceRecord], removed: [ResourceRecord], oldSOA: ResourceRecord?) {
        var keys = SortedKeys(new, skipping: apex)
        let apexKey = origin.lowercased.wire
        var added: [ResourceRecord] = [], removed: [ResourceRecord] = [], oldSOA: ResourceRecord?
        let s = try db.prepare("SELECT \(RecordRow.columns) FROM records WHERE zone_id = ?")
        try s.bind([.int(id)])
        var j = 0
        while try s.step() {
            let type = s.int(1)
            if type == Int64(RRType.soa.rawValue), s.withBlob(4, { SortedKeys.order($0, apexKey) == 0 }) {
                oldSOA = try record(from: s)
                continue
            }
            // New records that sort before this row are not stored: added.
            var c = 1
            while j < keys.count {
                c = s.withBlob(4) { owner in s.withBlob(5) { rdata in keys.order(j, owner: owner, type: type, rdata: rdata) } }
                if c >= 0 { break }
                added.append(new[keys.index(j)])
                j += 1
            }
            if j < keys.count, c == 0 {
                let r = new[keys.index(j)]
                if s.int(2) != Int64(r.ttl) {
                    removed.append(try record(from: s))
                    added.append(r)
                }
                j += 1
            } else {
                removed.append(try record(from: s))
            }
        }
        while j < keys.count {
            added.append(new[keys.index(j)])
            j += 1
        }
        return (added, removed, oldSOA)
    }
}

/// The records of a zone in the order the store's primary key keeps them (owner lowercased, type, canonical
/// RDATA; blobs as SQLite compares them: bytes, then length). It holds positions and owner keys only (which
/// share the names' own bytes when they are lower case): a canonical RDATA is written out only to break a tie.
struct SortedKeys {
    private let rrs: [ResourceRecord]
    private let owners: [[UInt8]]
    private var positions: [Int32] = []
    private var scratch = (WireWriter(capacity: 256), WireWriter(capacity: 256))

    /// The records of `rrs` but the one at `skipping`; of records with equal keys only the first (the
    /// builder has dropped duplicates already; the store could hold one of them only).
    init(_ rrs: [ResourceRecord], skipping: Int?) {
        self.rrs = rrs
        owners = rrs.map(\.name.lowercased.wire)
        scratch.0.compressionEnabled = false
        scratch.1.compressionEnabled = false
        positions = (0..<Int32(rrs.count)).filter { Int($0) != skipping }
        var p = positions
        p.sort { compare(Int($0), Int($1)) < 0 }
        var kept: [Int32] = []
        kept.reserveCapacity(p.count)
        for i in p where kept.isEmpty || compare(Int(kept[kept.count - 1]), Int(i)) != 0 { kept.append(i) }
        positions = kept
    }

    var count: Int { positions.count }

    /// The position in the records given of the `i`-th key.
    func index(_ i: Int) -> Int { Int(positions[i]) }

    /// The `i`-th key against a stored row's: negative when the key sorts first.
    mutating func order(_ i: Int, owner: UnsafeRawBufferPointer, type: Int64, rdata: UnsafeRawBufferPointer) -> Int {
        let at = Int(positions[i])
        let o = owners[at].withUnsafeBytes { Self.order($0, owner) }
        if o != 0 { return o }
        let t = Int64(rrs[at].type.rawValue)
        if t != type { return t < type ? -1 : 1 }
        scratch.0.reset()
        rrs[at].rdata.write(to: &scratch.0, canonical: true)
        return scratch.0.bytes.withUnsafeBytes { Self.order($0, rdata) }
    }

    /// Records `a` and `b` of `rrs` in key order.
    private mutating func compare(_ a: Int, _ b: Int) -> Int {
        let o = owners[a].withUnsafeBytes { pa in owners[b].withUnsafeBytes { pb in Self.order(pa, pb) } }
        if o != 0 { return o }
        if rrs[a].type != rrs[b].type { return rrs[a].type < rrs[b].type ? -1 : 1 }
        scratch.0.reset()
        scratch.1.reset()
        rrs[a].rdata.write(to: &scratch.0, canonical: true)
        rrs[b].rdata.write(to: &scratch.1, canonical: true)
        return scratch.0.bytes.withUnsafeBytes { pa in scratch.1.bytes.withUnsafeBytes { pb in Self.order(pa, pb) } }
    }

    /// Blob order as SQLite's BINARY comparison: the common prefix by bytes, then the shorter first.
    static func order(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let n = min(a.count, b.count)
        if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
            let c = memcmp(pa, pb, n)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }

    static func order(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int { b.withUnsafeBytes { order(a, $0) } }
}

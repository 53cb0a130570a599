import DNSWire
import DNSZone

extension ZoneStore {
    /// The journal's differences of `zone` from serial `from` up to serial `to`, oldest first, or nil when the
    /// journal does not reach (trimmed, the zone replaced or created since, a change too big to journal) or
    /// holds more than `maxRecords` rows on the way: the caller then sends the zone whole. Entries newer than
    /// `to` are passed over: the server answers from the snapshot it serves, which may lag the store.
    public func journalDiffs(zone: DNSName, from: UInt32, to: UInt32, maxRecords: Int) throws(StoreError) -> [SerialDiff]? {
        guard from != to else { return [] }
        return try db.readTransaction { () throws(StoreError) -> [SerialDiff]? in
            let s = try db.prepare("SELECT id, kind, serial_from, serial_to FROM changes WHERE zone_key = ? ORDER BY id DESC")
            try s.bind([.blob(zone.lowercased.wire)])
            var chain: [Int64] = []
            var want: UInt32? = to
            while let w = want, try s.step() {
                guard let kind = ChangeKind(rawValue: s.int(1)) else { return nil }
                if kind == .settings { continue }
                // A zone replaced or created, or a change too big to journal: the chain breaks here.
                guard kind == .records, !s.isNull(2), !s.isNull(3) else { return nil }
                let sFrom = UInt32(truncatingIfNeeded: s.int(2)), sTo = UInt32(truncatingIfNeeded: s.int(3))
                if chain.isEmpty && sTo != w { continue }  // newer than the served snapshot
                guard sTo == w else { return nil }
                chain.append(s.int(0))
                want = sFrom == from ? nil : sFrom
            }
            guard want == nil else { return nil }
            let count = try db.prepare("SELECT COUNT(*) FROM change_records WHERE change_id = ?")
            var rows = 0
            for id in chain {
                try count.bind([.int(id)])
                if try count.step() { rows += Int(count.int(0)) }
                if rows > maxRecords { return nil }
            }
            let read = try db.prepare("SELECT added, owner, type, ttl, rdata FROM change_records WHERE change_id = ? ORDER BY rowid")
            var out: [SerialDiff] = []
            for id in chain.reversed() {
                try read.bind([.int(id)])
                var removed: [ResourceRecord] = [], added: [ResourceRecord] = []
                var oldSOA: ResourceRecord?, newSOA: ResourceRecord?
                while try read.step() {
                    let r = try decodeRecord(owner: read.blob(1), type: read.int(2), ttl: read.int(3), rdata: read.blob(4))
                    let isAdd = read.int(0) == 1
                    if r.type == .soa && r.name == zone {
                        if isAdd { newSOA = r } else { oldSOA = r }
                    } else if isAdd {
                        added.append(r)
                    } else {
                        removed.append(r)
                    }
                }
                guard let o = oldSOA, let n = newSOA else { return nil }
                out.append(SerialDiff(oldSOA: o, removed: removed, newSOA: n, added: added))
            }
            return out
        }
    }
}

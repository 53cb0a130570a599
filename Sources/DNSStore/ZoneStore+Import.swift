import DNSWire
import DNSZone

/// One zone of an import: the records the source lists for it now, and how to create it when missing.
public struct ImportZone: Sendable {
    public var name: DNSName
    public var records: [ResourceRecord]
    /// The mode to set (nil: leave the zone's as it is).
    public var fallthroughMode: Fallthrough?
    /// NS of the zone when the import creates it (nil: `ns1.<zone>`).
    public var primary: DNSName?

    public init(name: DNSName, records: [ResourceRecord], fallthroughMode: Fallthrough? = nil, primary: DNSName? = nil) {
        self.name = name
        self.records = records
        self.fallthroughMode = fallthroughMode
        self.primary = primary
    }
}

/// What an import changed (or, for a dry run, would change).
public struct ImportOutcome: Sendable {
    public var diffs: [ZoneDiff] = []
    public var created: [DNSName] = []
    public var fallthroughChanged: [(zone: DNSName, from: Fallthrough, to: Fallthrough)] = []
    public var upstreamAdded: [DNSName] = []
}

extension ZoneStore {
    /// Applies everything an import (hosts file, inventory, dnsmasq config) says, in one transaction: missing
    /// zones are created, modes set, every zone synced with what `source` lists (see `syncImport`; zones where
    /// the source owned records before and lists none now are synced too), and names marked "resolve upstream".
    /// A failure anywhere changes nothing; a dry run computes the same outcome and rolls it back.
    public func applyImport(source: String, zones: [ImportZone], upstreamNames: [DNSName] = [], dryRun: Bool = false) throws(StoreError) -> ImportOutcome {
        var outcome = ImportOutcome()
        do throws(StoreError) {
            try db.transaction { () throws(StoreError) in
                var all = zones
                for z in try zonesOwned(by: source) where !all.contains(where: { $0.name == z }) { all.append(ImportZone(name: z, records: [])) }
                for z in all {
                    var created: ZoneDiff?
                    if try zoneID(z.name) == nil {
                        created = try addZoneLocked(z.name, primary: z.primary, hostmaster: nil, ttl: 3600, fallthroughMode: z.fallthroughMode ?? .off)
                        outcome.created.append(z.name)
                    } else if let mode = z.fallthroughMode {
                        let old = try setFallthroughLocked(z.name, mode)
                        if old != mode { outcome.fallthroughChanged.append((z.name, old, mode)) }
                    }
                    // Written for real even in a dry run: the rollback below undoes it.
                    var diff = try syncImportLocked(source: source, zone: z.name, records: z.records, dryRun: false)
                    if let created {
                        // A new zone: its SOA (as bumped by the sync) and NS are additions like the rest.
                        let soa = diff.added.filter { $0.type == .soa }
                        diff.removed.removeAll { $0.type == .soa }
                        diff.added = (soa.isEmpty ? created.added.filter { $0.type == .soa } : soa) + created.added.filter { $0.type != .soa }
                            + diff.added.filter { $0.type != .soa }
                        if diff.serial == nil { diff.serial = created.serial }
                    }
                    outcome.diffs.append(diff)
                }
                for n in upstreamNames {
                    do throws(StoreError) {
                        try addUpstreamNameLocked(n)
                        outcome.upstreamAdded.append(n)
                    } catch {
                        if error.code != .exists { throw error }  // exists: a rerun
                    }
                }
                if dryRun { throw StoreError(.dryRun, "dry run") }
            }
        } catch {
            if error.code != .dryRun { throw error }
        }
        return outcome
    }

    /// Brings a zone in line with what an import source (e.g. "ansible:/etc/ansible/hosts") says now, in one
    /// transaction: records it lists and the zone lacks are added and marked as the source's; records the
    /// source made before and no longer lists are removed. Records the zone already had (added by hand or by
    /// another source) are left alone and never claimed, so they survive the source forgetting them.
    /// Each new record joins its RRset's TTL when the RRset exists.
    @discardableResult
    public func syncImport(source: String, zone origin: DNSName, records wanted: [ResourceRecord], dryRun: Bool = false) throws(StoreError) -> ZoneDiff {
        try db.transaction { () throws(StoreError) -> ZoneDiff in try syncImportLocked(source: source, zone: origin, records: wanted, dryRun: dryRun) }
    }

    func syncImportLocked(source: String, zone origin: DNSName, records wanted: [ResourceRecord], dryRun: Bool) throws(StoreError) -> ZoneDiff {
        guard try zoneID(origin) != nil else { throw StoreError(.notFound, "zone \(origin) does not exist (create it with 'dnsctl zone add \(origin)')") }
        let id = try editableZoneID(origin)
        let ownedQuery = try db.prepare("SELECT owner_key, type, rdata_key FROM import_owned WHERE source = ? AND zone_id = ?")
        try ownedQuery.bind([.text(source), .int(id)])
        var owned = Set<[UInt8]>()
        // Only the names the source made records at or lists now can change: the edit reads and checks those
        // (a hosts file of 50 names synced into a million-record zone reads 50 names, not the zone).
        var names: Set<DNSName> = [origin]
        while try ownedQuery.step() {
            owned.insert(Self.ownKey(ownedQuery.blob(0), UInt16(truncatingIfNeeded: ownedQuery.int(1)), ownedQuery.blob(2)))
            if let n = try? DNSName(wire: ownedQuery.blob(0)) { names.insert(n) }
        }
        for r in wanted { names.insert(r.name) }
        let old = try records(zoneID: id, owners: names.sorted())
        func key(_ r: ResourceRecord) -> [UInt8] { Self.ownKey(r.name.lowercased.wire, r.type.rawValue, r.rdata.wireBytes(canonical: true)) }
        let wantedKeys = Set(wanted.map(key))
        var present = Set(old.map(key))
        var new = old.filter { !(owned.contains(key($0)) && !wantedKeys.contains(key($0))) }
        struct RRsetKey: Hashable { var name: DNSName, type: RRType }
        var ttls: [RRsetKey: UInt32] = [:]
        for r in new where ttls[RRsetKey(name: r.name, type: r.type)] == nil { ttls[RRsetKey(name: r.name, type: r.type)] = r.ttl }
        var claimed: [ResourceRecord] = []
        for var r in wanted where present.insert(key(r)).inserted {
            if let t = ttls[RRsetKey(name: r.name, type: r.type)] { r.ttl = t } else { ttls[RRsetKey(name: r.name, type: r.type)] = r.ttl }
            new.append(r)
            claimed.append(r)
        }
        let diff = try commit(zoneID: id, origin: origin, old: old, new: new, dryRun: dryRun, keepNewerSerial: true, partial: names)
        if !dryRun {
            let del = try db.prepare("DELETE FROM import_owned WHERE source = ? AND zone_id = ? AND owner_key = ? AND type = ? AND rdata_key = ?")
            for r in diff.removed where r.type != .soa {
                try del.run([.text(source), .int(id), .blob(r.name.lowercased.wire), .int(Int64(r.type.rawValue)), .blob(r.rdata.wireBytes(canonical: true))])
            }
            let ins = try db.prepare("INSERT OR IGNORE INTO import_owned(source, zone_id, owner_key, type, rdata_key) VALUES (?, ?, ?, ?, ?)")
            for r in claimed {
                try ins.run([.text(source), .int(id), .blob(r.name.lowercased.wire), .int(Int64(r.type.rawValue)), .blob(r.rdata.wireBytes(canonical: true))])
            }
            try noteSource(zoneID: id, diff.added, "import " + source)
        }
        return diff
    }

    /// Zones where `source` owns records (so a rerun that lists none of them still removes what it made).
    func zonesOwned(by source: String) throws(StoreError) -> [DNSName] {
        let s = try db.prepare("SELECT DISTINCT z.name FROM import_owned o JOIN zones z ON z.id = o.zone_id WHERE o.source = ?")
        try s.bind([.text(source)])
        var out: [DNSName] = []
        while try s.step() { if let n = try? DNSName(s.text(0)) { out.append(n) } }
        return out
    }

    static func ownKey(_ owner: [UInt8], _ type: UInt16, _ rdata: [UInt8]) -> [UInt8] {
        owner + [0xFF, UInt8(type >> 8), UInt8(type & 0xFF)] + rdata
    }
}

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
    public var isEmpty: Bool { created.isEmpty && fallthroughChanged.isEmpty && upstreamAdded.isEmpty && diffs.allSatisfy(\.isEmpty) }
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
}

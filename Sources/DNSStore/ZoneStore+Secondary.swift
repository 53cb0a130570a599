import DNSWire
import DNSZone

/// Whose data a zone is: ours (edited with dnsctl), or a copy of a primary's (written by transfers only).
public enum ZoneRole: Int64, Sendable {
    case primary = 0
    case secondary = 1
}

/// A secondary zone's refresh state, as `dnsctl zone list` shows it and the expire timer needs it.
public struct SecondaryState: Sendable, Equatable {
    public var zone: DNSName
    public var primaries: String
    /// Unix seconds of the last SOA check or transfer that worked; nil before the first.
    public var lastSuccess: Int64?
    public var lastAttempt: Int64?
    public var failures: Int
    public var lastError: String
    public var nextRefresh: Int64?
    /// The catalog zone (RFC 9432) that made it a secondary here; nil when the configuration did.
    public var catalog: DNSName?

    public init(zone: DNSName, primaries: String, lastSuccess: Int64?, lastAttempt: Int64?, failures: Int, lastError: String, nextRefresh: Int64?,
                catalog: DNSName? = nil) {
        self.catalog = catalog
        self.zone = zone
        self.primaries = primaries
        self.lastSuccess = lastSuccess
        self.lastAttempt = lastAttempt
        self.failures = failures
        self.lastError = lastError
        self.nextRefresh = nextRefresh
    }
}

extension ZoneStore {
    /// AXFR in: the zone becomes exactly `records`, the primary's SOA serial kept, in one transaction with its
    /// journal entry (so this server can serve IXFR onwards); created as a secondary zone if new. The same
    /// zone checks as an import: a zone that would not load is refused and the old copy stays.
    @discardableResult
    public func storeTransfer(zone origin: DNSName, records: [ResourceRecord]) throws(StoreError) -> ZoneDiff {
        try db.transaction { () throws(StoreError) -> ZoneDiff in
            if let id = try secondaryZoneID(origin) {
                return try replace(zoneID: id, origin: origin, new: records, dryRun: false, exactSerial: true)
            }
            var b = ZoneBuilder(origin: origin, expectedRecords: records.count)
            let settled = Self.settle(records, in: &b)
            let errors = b.checkPart { _ in false }.filter { $0.severity == .error }
            if !errors.isEmpty { throw StoreError(.rejected, "zone \(origin) from its primary: " + errors.map(\.description).joined(separator: "; ")) }
            let id = try insertZone(origin)
            try db.prepare("UPDATE zones SET role = ? WHERE id = ?").run([.int(ZoneRole.secondary.rawValue), .int(id)])
            try apply(zoneID: id, added: settled, removed: [])
            return ZoneDiff(zone: origin, added: settled, serial: settled.first { $0.type == .soa }?.rdata.soa?.serial)
        }
    }

    /// IXFR in: each serial's difference applied in order (one journal entry each), all in one transaction.
    /// A difference that removes a record this copy does not hold, or starts from another serial, means the
    /// copies have drifted: it throws, nothing changes, and the caller transfers the zone whole.
    public func applyTransfer(zone origin: DNSName, diffs: [SerialDiff]) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            guard let id = try secondaryZoneID(origin) else { throw StoreError(.notFound, "secondary zone \(origin) has no copy yet to apply an IXFR to") }
            for d in diffs {
                var owners = [origin]
                for r in d.removed + d.added where !owners.contains(r.name) { owners.append(r.name) }
                let old = try records(zoneID: id, owners: owners)
                guard let soa = old.first(where: { $0.type == .soa && $0.name == origin }), soa.rdata.soa?.serial == d.oldSOA.rdata.soa?.serial else {
                    throw StoreError(.rejected, "IXFR of \(origin) starts at serial \(d.oldSOA.rdata.soa?.serial ?? 0), this copy is not at it")
                }
                var new = old.filter { $0.type != .soa || $0.name != origin }
                for r in d.removed {
                    // RFC 1995 deletes by owner, type and RDATA (a TTL need not match).
                    let k = r.rdata.wireBytes(canonical: true)
                    guard let i = new.firstIndex(where: { $0.name == r.name && $0.type == r.type && $0.rdata.wireBytes(canonical: true) == k }) else {
                        throw StoreError(.rejected, "IXFR of \(origin) removes \(r.name) \(r.type), which this copy does not hold")
                    }
                    new.remove(at: i)
                }
                new.append(d.newSOA)
                new += d.added
                _ = try commit(zoneID: id, origin: origin, old: old, new: new, dryRun: false, keepNewerSerial: true, partial: Set(owners), exactSerial: true)
            }
        }
    }

    /// The id of a secondary zone's copy; nil when it has none yet. A primary zone of that name is an error:
    /// a transfer never overwrites data edited here.
    func secondaryZoneID(_ origin: DNSName) throws(StoreError) -> Int64? {
        let s = try db.prepare("SELECT id, role FROM zones WHERE name_key = ?")
        try s.bind([.blob(origin.lowercased.wire)])
        guard try s.step() else { return nil }
        guard s.int(1) == ZoneRole.secondary.rawValue else {
            throw StoreError(.rejected, "zone \(origin) is a primary zone in this store; a transfer will not overwrite it (remove it with 'dnsctl zone rm \(origin)' first to make it a secondary)")
        }
        return s.int(0)
    }

    /// Removes a secondary zone's copy (it left the configuration or a catalog), journaled like any removal.
    public func removeSecondaryZone(_ origin: DNSName) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            guard let id = try secondaryZoneID(origin) else { return }
            try db.prepare("DELETE FROM zones WHERE id = ?").run([.int(id)])
            try db.prepare("DELETE FROM secondary_state WHERE zone_key = ?").run([.blob(origin.lowercased.wire)])
            try journal(zoneKey: .blob(origin.lowercased.wire), kind: .zoneRemoved)
        }
    }

    /// Makes a zone's copy ours (or theirs): a secondary taken out of the configuration becomes a primary zone
    /// dnsctl may edit. Not journaled: no served record changes.
    public func setRole(_ origin: DNSName, _ role: ZoneRole) throws(StoreError) {
        try db.prepare("UPDATE zones SET role = ? WHERE name_key = ?").run([.int(role.rawValue), .blob(origin.lowercased.wire)])
    }

    /// The role of every zone the store holds.
    public func zoneRoles() throws(StoreError) -> [DNSName: ZoneRole] {
        let s = try db.prepare("SELECT name, role FROM zones")
        var out: [DNSName: ZoneRole] = [:]
        while try s.step() {
            if let n = try? DNSName(s.text(0)) { out[n] = ZoneRole(rawValue: s.int(1)) ?? .primary }
        }
        return out
    }

    // MARK: refresh state

    public func secondaryStates() throws(StoreError) -> [SecondaryState] {
        let s = try db.prepare("SELECT name, primaries, last_success, last_attempt, failures, last_error, next_refresh, catalog FROM secondary_state ORDER BY name")
        var out: [SecondaryState] = []
        while try s.step() {
            guard let n = try? DNSName(s.text(0)) else { continue }
            out.append(SecondaryState(zone: n, primaries: s.text(1), lastSuccess: s.isNull(2) ? nil : s.int(2), lastAttempt: s.isNull(3) ? nil : s.int(3),
                                      failures: Int(s.int(4)), lastError: s.text(5), nextRefresh: s.isNull(6) ? nil : s.int(6),
                                      catalog: s.text(7).isEmpty ? nil : try? DNSName(s.text(7))))
        }
        return out
    }

    /// Records one refresh attempt's outcome. Not journaled: no served data changes.
    public func recordRefresh(_ st: SecondaryState) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            try db.prepare("""
                INSERT INTO secondary_state(zone_key, name, primaries, last_success, last_attempt, failures, last_error, next_refresh, catalog)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(zone_key) DO UPDATE SET name = excluded.name, primaries = excluded.primaries, last_success = excluded.last_success,
                    last_attempt = excluded.last_attempt, failures = excluded.failures, last_error = excluded.last_error, next_refresh = excluded.next_refresh,
                    catalog = excluded.catalog
                """).run([
                .blob(st.zone.lowercased.wire), .text(st.zone.description), .text(st.primaries),
                st.lastSuccess.map { .int($0) } ?? .null, st.lastAttempt.map { .int($0) } ?? .null, .int(Int64(st.failures)),
                .text(st.lastError), st.nextRefresh.map { .int($0) } ?? .null, .text(st.catalog?.description ?? ""),
            ])
        }
    }
}

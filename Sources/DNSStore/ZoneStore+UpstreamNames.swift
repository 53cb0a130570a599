import CSQLite
import DNSWire

extension ZoneStore {
    // MARK: names resolved upstream

    /// Names (and everything below them) inside the served zones that the resolver answers from upstream
    /// instead of the zone (e.g. a public service under the lab's wildcard domain).
    public func upstreamNames() throws(StoreError) -> [DNSName] {
        let s = try db.prepare("SELECT name FROM upstream_names ORDER BY name")
        var out: [DNSName] = []
        while try s.step() { if let n = try? DNSName(s.text(0)) { out.append(n) } }
        return out.sorted()
    }

    public func addUpstreamName(_ name: DNSName) throws(StoreError) {
        try db.transaction { () throws(StoreError) in try addUpstreamNameLocked(name) }
    }

    func addUpstreamNameLocked(_ name: DNSName) throws(StoreError) {
        guard try zone(containing: name) != nil else {
            throw StoreError(.rejected, "\(name) is in no served zone, so it is resolved upstream already; nothing to do")
        }
        let exists = try db.prepare("SELECT 1 FROM upstream_names WHERE name_key = ?")
        try exists.bind([.blob(name.lowercased.wire)])
        guard try !exists.step() else { throw StoreError(.exists, "\(name) is already resolved upstream") }
        try db.prepare("INSERT INTO upstream_names(name, name_key, created_at) VALUES (?, ?, ?)")
            .run([.text(name.description), .blob(name.lowercased.wire), .int(now())])
        try journal(zoneKey: .null, kind: .settings)
    }

    public func removeUpstreamName(_ name: DNSName) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            let del = try db.prepare("DELETE FROM upstream_names WHERE name_key = ?")
            try del.run([.blob(name.lowercased.wire)])
            guard sqlite3_changes(db.handle) > 0 else { throw StoreError(.notFound, "\(name) is not in the resolve-upstream list (see 'dnsctl upstream list')") }
            try journal(zoneKey: .null, kind: .settings)
        }
    }
}

import CSQLite
import DNSTSIG
import DNSWire

extension ZoneStore {
    // MARK: TSIG keys

    /// Every key, secrets included: for the server, which verifies and signs with them.
    public func tsigKeys() throws(StoreError) -> [TSIGKey] {
        let s = try db.prepare("SELECT name, algorithm, secret FROM tsig_keys ORDER BY name")
        var out: [TSIGKey] = []
        while try s.step() {
            guard let name = try? DNSName(s.text(0)), let algorithm = TSIGAlgorithm(mnemonic: s.text(1)) else {
                throw StoreError(.corrupt, "a TSIG key in \(db.path) has an invalid name or algorithm; the store was edited outside dnsctl")
            }
            out.append(TSIGKey(name: name, algorithm: algorithm, secret: s.blob(2)))
        }
        return out
    }

    public func addTSIGKey(_ key: TSIGKey) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            let exists = try db.prepare("SELECT 1 FROM tsig_keys WHERE name_key = ?")
            try exists.bind([.blob(key.name.lowercased.wire)])
            guard try !exists.step() else { throw StoreError(.exists, "TSIG key \(key.name) exists already (remove it first with 'dnsctl tsig rm \(key.name)')") }
            try db.prepare("INSERT INTO tsig_keys(name, name_key, algorithm, secret, created_at) VALUES (?, ?, ?, ?, ?)")
                .run([.text(key.name.description), .blob(key.name.lowercased.wire), .text(key.algorithm.mnemonic),
                      .blob(key.secret), .int(now())])
            try journal(zoneKey: .null, kind: .settings)
        }
    }

    public func removeTSIGKey(_ name: DNSName) throws(StoreError) {
        try db.transaction { () throws(StoreError) in
            try db.prepare("DELETE FROM tsig_keys WHERE name_key = ?").run([.blob(name.lowercased.wire)])
            guard sqlite3_changes(db.handle) > 0 else { throw StoreError(.notFound, "no TSIG key \(name) (see 'dnsctl tsig list')") }
            try journal(zoneKey: .null, kind: .settings)
        }
    }
}

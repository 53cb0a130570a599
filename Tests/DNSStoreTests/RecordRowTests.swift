import DNSWire
import DNSZone
import Testing
@testable import DNSStore

/// Rows of `records` (schema 6): one B-tree keyed (zone, owner, type, RDATA), and an owner or RDATA equal to
/// its key stored empty. What goes in must come back byte for byte, case included.
@Suite struct RecordRowTests {
    static let origin = try! DNSName("row.test.")
    static let zone = """
        $ORIGIN row.test.
        $TTL 300
        @ SOA ns.row.test. hostmaster.row.test. 7 3600 600 1209600 300
        @ NS ns
        ns A 192.0.2.1
        lower A 192.0.2.2
        UPPER A 192.0.2.3
        MiXeD AAAA 2001:db8::1
        alias CNAME Target.Example.
        mail MX 10 MX.row.test.
        txt TXT "Case Kept"
        empty TYPE65280 \\# 0
        """

    func records() throws -> [ResourceRecord] {
        var p = ZoneFileParser(text: Self.zone, origin: nil)
        return try p.all().map(\.record)
    }

    /// Byte-exact identity of a record: owner case, type, TTL and RDATA as written.
    func exact(_ rs: [ResourceRecord]) -> Set<[UInt8]> {
        Set(rs.map { r in r.name.wire + [UInt8(r.type.rawValue >> 8), UInt8(r.type.rawValue & 0xFF)] + withUnsafeBytes(of: r.ttl.bigEndian, Array.init) + r.rdata.wireBytes() })
    }

    @Test("owner and RDATA are stored empty exactly when they equal their keys, and read back as written")
    func roundTrip() throws {
        let s = try ZoneStore(path: tempPath("rows"))
        let input = try records()
        try s.importZone(Self.origin, records: input)
        #expect(exact(try s.records(zone: Self.origin)) == exact(input))
        let ownersWritten = try s.db.scalarInt("SELECT count(*) FROM records WHERE length(owner) > 0")
        let rdataWritten = try s.db.scalarInt("SELECT count(*) FROM records WHERE length(rdata) > 0")
        // Written out: the owners UPPER and MiXeD; the CNAME and MX RDATA, whose names have upper case.
        #expect(ownersWritten == 2, "UPPER, MiXeD")
        #expect(rdataWritten == 2, "CNAME Target.Example., MX MX.row.test.")
        #expect(try s.db.scalarInt("SELECT count(*) FROM records WHERE length(rdata_key) = 0") == 1, "the empty RDATA")
        // The zone loads from these rows as it was given.
        let (catalog, problems) = try s.loadCatalog(generation: 1)
        #expect(problems.isEmpty)
        #expect(catalog.zones[Self.origin]?.recordCount == input.count)
        // A record is found by its key, whatever its case, and removed by it.
        try s.edit(zone: Self.origin) { rs in rs.removeAll { $0.name.description == "UPPER.row.test." } }
        #expect(try s.records(zone: Self.origin, at: try DNSName("upper.row.test.")).isEmpty)
        #expect(try s.zones().first?.serial != 7)
    }

    @Test("a version-5 store (a rowid table, every column written out) is rebuilt keyed and compact, records kept")
    func upgradeFromV5() throws {
        let path = tempPath("v5")
        let input = try records()
        do {
            let s = try ZoneStore(path: path)
            try s.importZone(Self.origin, records: input)
            // Back to the v5 layout, with every owner and RDATA written out as v5 wrote them.
            try s.db.exec("""
                CREATE TABLE records_v5 (
                    id INTEGER PRIMARY KEY,
                    zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
                    owner BLOB NOT NULL, owner_key BLOB NOT NULL, type INTEGER NOT NULL, ttl INTEGER NOT NULL,
                    rdata BLOB NOT NULL, rdata_key BLOB NOT NULL,
                    UNIQUE (zone_id, owner_key, type, rdata_key));
                INSERT INTO records_v5(zone_id, owner, owner_key, type, ttl, rdata, rdata_key)
                    SELECT zone_id, CASE WHEN length(owner) > 0 THEN owner ELSE owner_key END, owner_key, type, ttl,
                           CASE WHEN length(rdata) > 0 THEN rdata ELSE rdata_key END, rdata_key FROM records;
                DROP TABLE record_source;
                DROP TABLE records;
                ALTER TABLE records_v5 RENAME TO records;
                ALTER TABLE changes DROP COLUMN bytes;
                ALTER TABLE zones DROP COLUMN role;
                DROP TABLE secondary_state;
                PRAGMA user_version = 5;
                """)
            #expect(try s.db.scalarInt("SELECT count(*) FROM records WHERE length(owner) = 0") == 0)
        }
        let s = try ZoneStore(path: path)
        #expect(try s.db.scalarInt("PRAGMA user_version") == ZoneStore.schemaVersion)
        let sql = try s.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'records'")
        #expect(try sql.step() && sql.text(0).contains("WITHOUT ROWID"))
        #expect(try s.db.scalarInt("SELECT count(*) FROM records WHERE length(owner) > 0") == 2)
        #expect(exact(try s.records(zone: Self.origin)) == exact(input))
        #expect(try s.integrityCheck() == "ok")
        // Importing the same records again changes nothing: the keys compare as before the upgrade.
        #expect(try s.importZone(Self.origin, records: input).isEmpty)
    }
}

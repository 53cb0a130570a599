/// The store's layout and its upgrades: one step per schema version, each in its own transaction.
extension ZoneStore {
    /// Versioned migrations through PRAGMA user_version, each step in its own transaction.
    func migrate() throws(StoreError) {
        let current = try db.scalarInt("PRAGMA user_version")
        guard current <= Self.schemaVersion else {
            throw StoreError(.corrupt, "store \(db.path) has schema version \(current), newer than this jamdns (\(Self.schemaVersion)); upgrade jamdns")
        }
        let steps: [Int64: String] = [
            1: """
            CREATE TABLE zones (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                name_key BLOB NOT NULL UNIQUE,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE TABLE records (
                id INTEGER PRIMARY KEY,
                zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
                owner BLOB NOT NULL,          -- wire form, case preserved
                owner_key BLOB NOT NULL,      -- wire form, lowercased
                type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 65535),
                ttl INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 2147483647),
                rdata BLOB NOT NULL,          -- uncompressed wire RDATA
                rdata_key BLOB NOT NULL,      -- canonical RDATA (RFC 4034 §6.2), for duplicate detection
                UNIQUE (zone_id, owner_key, type, rdata_key)
            );
            CREATE INDEX records_by_zone ON records(zone_id, owner_key, type);
            """,
            // Names inside the served zones that are resolved upstream instead (dnsmasq's server=/name/#).
            2: """
            CREATE TABLE upstream_names (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                name_key BLOB NOT NULL UNIQUE,
                created_at INTEGER NOT NULL
            );
            """,
            // Which records an import (hosts file, Ansible inventory, dnsmasq config) created, so running it
            // again removes only what it made, never a record added by hand.
            3: """
            CREATE TABLE import_owned (
                id INTEGER PRIMARY KEY,
                source TEXT NOT NULL,
                zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
                owner_key BLOB NOT NULL,
                type INTEGER NOT NULL,
                rdata_key BLOB NOT NULL,
                UNIQUE (source, zone_id, owner_key, type, rdata_key)
            );
            """,
            // What a zone does with questions it has no data for (DNSZone.Fallthrough: 0 off, 1 names, 2 types).
            4: """
            ALTER TABLE zones ADD COLUMN fallthrough INTEGER NOT NULL DEFAULT 0 CHECK (fallthrough BETWEEN 0 AND 2);
            """,
            // The journal: every committed change in commit order, written in the edit's own transaction. The
            // server applies it to its snapshot instead of reloading; zone transfers (IXFR) read it too.
            // AUTOINCREMENT: an id is never reused, so "everything after id N" stays well defined after trims.
            5: """
            CREATE TABLE changes (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                zone_key BLOB,                -- lowercased wire name of the zone; NULL: the whole store
                kind INTEGER NOT NULL,        -- ChangeKind
                serial_from INTEGER,
                serial_to INTEGER,
                at INTEGER NOT NULL
            );
            CREATE INDEX changes_by_zone ON changes(zone_key, id);
            CREATE TABLE change_records (
                change_id INTEGER NOT NULL REFERENCES changes(id) ON DELETE CASCADE,
                added INTEGER NOT NULL,       -- 1 added, 0 removed
                owner BLOB NOT NULL,
                type INTEGER NOT NULL,
                ttl INTEGER NOT NULL,
                rdata BLOB NOT NULL
            );
            CREATE INDEX change_records_by_change ON change_records(change_id);
            INSERT INTO changes(zone_key, kind, at) VALUES (NULL, 1, 0);
            -- The UNIQUE index (zone_id, owner_key, type, rdata_key) answers every lookup this one did: one index
            -- less to write per record (an import of a million records writes a quarter less).
            DROP INDEX IF EXISTS records_by_zone;
            """,
            // The records table becomes its own index (WITHOUT ROWID, keyed as the UNIQUE constraint was): one
            // B-tree to write and read instead of a table and an index that repeated its keys. An owner or RDATA
            // equal to its key is stored empty (RecordRow). Together they halve the store of a large zone.
            // Earlier jamdns versions cannot read these rows: the version check stops them.
            6: """
            CREATE TABLE records_v6 (
                zone_id INTEGER NOT NULL REFERENCES zones(id) ON DELETE CASCADE,
                owner_key BLOB NOT NULL,      -- wire form, lowercased
                type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 65535),
                rdata_key BLOB NOT NULL,      -- canonical RDATA (RFC 4034 §6.2), for duplicate detection
                owner BLOB NOT NULL,          -- wire form, case preserved; empty when equal to owner_key
                ttl INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 2147483647),
                rdata BLOB NOT NULL,          -- uncompressed wire RDATA; empty when equal to rdata_key
                PRIMARY KEY (zone_id, owner_key, type, rdata_key)
            ) WITHOUT ROWID;
            INSERT INTO records_v6(zone_id, owner_key, type, rdata_key, owner, ttl, rdata)
                SELECT zone_id, owner_key, type, rdata_key,
                       CASE WHEN owner = owner_key THEN X'' ELSE owner END, ttl,
                       CASE WHEN rdata = rdata_key THEN X'' ELSE rdata END
                FROM records;
            DROP TABLE records;
            ALTER TABLE records_v6 RENAME TO records;
            """,
            // Each journal entry's size, for the journal's byte bound (JournalLimits.maxBytes).
            7: """
            ALTER TABLE changes ADD COLUMN bytes INTEGER NOT NULL DEFAULT 0;
            UPDATE changes SET bytes = (SELECT COALESCE(SUM(length(owner) + length(rdata) + 10), 0) FROM change_records WHERE change_id = changes.id);
            """,
            // TSIG keys (RFC 8945): the store file is owner and group only (ZoneStore.fileMode) for these.
            8: """
            CREATE TABLE IF NOT EXISTS tsig_keys (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                name_key BLOB NOT NULL UNIQUE,  -- wire form, lowercased
                algorithm TEXT NOT NULL,        -- mnemonic, e.g. hmac-sha256
                secret BLOB NOT NULL,
                created_at INTEGER NOT NULL
            );
            """,
            // Secondary zones (RFC 1996, 5936): which zones are copies of another server's, and their refresh
            // state, so the expire timer runs across restarts. dnsctl refuses to edit a zone of role 1.
            9: """
            ALTER TABLE zones ADD COLUMN role INTEGER NOT NULL DEFAULT 0 CHECK (role BETWEEN 0 AND 1);
            CREATE TABLE secondary_state (
                zone_key BLOB PRIMARY KEY,      -- wire form, lowercased
                name TEXT NOT NULL,
                primaries TEXT NOT NULL,        -- as configured, for 'dnsctl zone list'
                last_success INTEGER,           -- unix seconds of the last SOA check or transfer that worked
                last_attempt INTEGER,
                failures INTEGER NOT NULL DEFAULT 0,
                last_error TEXT NOT NULL DEFAULT '',
                next_refresh INTEGER,
                catalog TEXT NOT NULL DEFAULT ''  -- the catalog zone that lists it; '' when configured
            );
            """,
            // Who last changed a record (a TSIG key's UPDATE, dnsctl, an import) and when: 'dnsctl record list
            // --source' and 'explain' show it. A record removed takes its row with it. Records loaded whole
            // (zone files, transfers) have none: they are the file's or the primary's.
            10: """
            CREATE TABLE record_source (
                zone_id INTEGER NOT NULL,
                owner_key BLOB NOT NULL,
                type INTEGER NOT NULL,
                rdata_key BLOB NOT NULL,
                source TEXT NOT NULL,
                at INTEGER NOT NULL,
                PRIMARY KEY (zone_id, owner_key, type, rdata_key),
                FOREIGN KEY (zone_id, owner_key, type, rdata_key) REFERENCES records(zone_id, owner_key, type, rdata_key) ON DELETE CASCADE
            ) WITHOUT ROWID;
            """,
        ]
        var v = current
        while v < Self.schemaVersion {
            v += 1
            guard let sql = steps[v] else { break }
            try db.transaction { () throws(StoreError) in
                try db.exec(sql)
                try db.exec("PRAGMA user_version = \(v)")
            }
        }
    }
}

import CSQLite
import DNSZone

#if canImport(Glibc)
import Glibc
#endif

extension ZoneStore {
    /// Writes a consistent copy of the whole store (every table: zones, records, upstream names, import
    /// ownership, and whatever later schema versions add) to `path`, which must not exist. Safe while the
    /// server runs: `VACUUM INTO` reads one snapshot. The copy is created mode 0600, like a store holding
    /// secrets must be.
    public func backup(to path: String) throws(StoreError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw StoreError(.io, "cannot create \(path): \(String(cString: strerror(errno)))\(errno == EEXIST ? " (a backup never overwrites: pick a new name)" : "")")
        }
        close(fd)
        do {
            try db.prepare("VACUUM INTO ?").run([.text(path)])
        } catch {
            unlink(path)
            throw error
        }
    }

    /// Replaces the whole store with the backup at `path`, after checking it: it must be a JamDNS store
    /// (any schema up to this one; older ones are upgraded), pass `integrity_check`, and every zone in it must
    /// load. The check runs on a private copy; then the copy's pages replace the store's in one step (SQLite's
    /// online backup), so a running server sees either the old store or the restored one, never a mix.
    /// Returns the restored zones.
    @discardableResult
    public func restore(from path: String) throws(StoreError) -> [ZoneSummary] {
        guard access(path, R_OK) == 0 else { throw StoreError(.notFound, "cannot read \(path): \(String(cString: strerror(errno)))") }
        let scratch = db.path + ".restore-\(getpid())"
        unlink(scratch)
        defer {
            unlink(scratch)
            unlink(scratch + "-wal")
            unlink(scratch + "-shm")
        }
        // A private copy, so the check never writes to the user's backup file (the upgrade would).
        do {
            let src = try Database(path: path, readOnly: true)
            guard (try? src.scalarInt("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'zones'")) == 1 else {
                throw StoreError(.rejected, "\(path) is not a JamDNS store (no zones table)")
            }
            try src.prepare("VACUUM INTO ?").run([.text(scratch)])
        }
        let candidate = try ZoneStore(path: scratch)
        let integrity = try candidate.integrityCheck()
        guard integrity == "ok" else { throw StoreError(.corrupt, "\(path) fails SQLite's integrity check: \(integrity); nothing was restored") }
        let (_, problems) = try candidate.loadCatalog(generation: 0)
        guard problems.isEmpty else { throw StoreError(.rejected, "\(path) holds zones that do not load: \(problems.joined(separator: "; ")); nothing was restored") }
        let zones = try candidate.zones()
        // One store-wide "replaced" entry, numbered after both journals, so a running server that follows the
        // journal sees it and loads the restored store whole.
        let next = max(try lastChangeID(), try candidate.lastChangeID()) + 1
        try candidate.db.prepare("INSERT INTO changes(id, zone_key, kind, at) VALUES (?, NULL, ?, ?)").run([.int(next), .int(ChangeKind.replaced.rawValue), .int(now())])
        try candidate.db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
        guard let b = sqlite3_backup_init(db.handle, "main", candidate.db.handle, "main") else {
            throw db.error(sqlite3_errcode(db.handle), "backup")
        }
        let rc = sqlite3_backup_step(b, -1)
        sqlite3_backup_finish(b)
        guard rc == SQLITE_DONE else { throw db.error(rc, "restore from \(path)") }
        return zones
    }
}

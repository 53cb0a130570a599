#if canImport(Glibc)
import Glibc
#endif
import CSQLite

/// An error from the store: a code, a message a person can act on, and the SQLite result code if any.
public struct StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable { case sqlite, notFound, exists, rejected, corrupt, io, readOnly, dryRun }
    public var code: Code
    public var message: String
    public var sqliteCode: Int32?
    public init(_ code: Code, _ message: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.message = message
        self.sqliteCode = sqliteCode
    }
    public static func == (a: StoreError, b: StoreError) -> Bool { a.code == b.code }
    public var description: String { message }
}

/// Owns one `sqlite3*`. Not Sendable: confine each connection to one thread (the server's reloader, or dnsctl).
final class Database {
    let handle: OpaquePointer
    let path: String

    init(path: String, readOnly: Bool = false, immutable: Bool = false) throws(StoreError) {
        var h: OpaquePointer?
        var flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        var name = path
        if immutable {
            flags |= SQLITE_OPEN_URI
            name = "file:" + Self.uriEscaped(path) + "?immutable=1"
        }
        let rc = sqlite3_open_v2(name, &h, flags, nil)
        guard rc == SQLITE_OK, let h else {
            let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? jam_sqlite_load_error().map { String(cString: $0) } ?? "out of memory"
            if let h { sqlite3_close_v2(h) }
            throw StoreError(.io, "cannot open store \(path): \(msg)\(Self.openHint(path))", sqliteCode: rc)
        }
        handle = h
        self.path = path
        sqlite3_extended_result_codes(h, 1)
    }

    deinit { sqlite3_close_v2(handle) }

    /// A path as the path part of a file: URI (RFC 3986 percent-escapes for what a URI would misread).
    static func uriEscaped(_ path: String) -> String {
        var out = ""
        for b in path.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "/"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" + h : h)
            }
        }
        return out
    }

    /// Why opening probably failed, and the fix: a missing or unwritable directory is the usual cause.
    static func openHint(_ path: String) -> String {
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let d = dir.isEmpty ? "/" : dir
        var st = stat()
        if stat(d, &st) != 0 { return " (the directory \(d) does not exist: create it, or set store.path / --db elsewhere)" }
        if access(d, W_OK) != 0 && access(path, F_OK) != 0 {
            return " (the directory \(d) is not writable by this user, so the store cannot be created there: fix its owner or mode)"
        }
        if access(path, R_OK) != 0 { return " (the file is not readable by this user: fix its owner or mode)" }
        return ""
    }

    func error(_ rc: Int32, _ sql: String) -> StoreError {
        let msg = String(cString: sqlite3_errmsg(handle))
        var hint = ""
        switch rc & 0xFF {
        case SQLITE_BUSY, SQLITE_LOCKED: hint = " (another process holds a write lock on \(path); retry)"
        case SQLITE_READONLY: hint = " (\(path) or its directory is read-only)"
        case SQLITE_CANTOPEN: hint = " (check that the directory of \(path) exists and is writable)"
        case SQLITE_CORRUPT, SQLITE_NOTADB: hint = " (\(path) is damaged or not a JamDNS store)"
        default: break
        }
        return StoreError(.sqlite, "\(msg)\(hint) [in: \(sql.prefix(60))]", sqliteCode: rc)
    }

    func exec(_ sql: String) throws(StoreError) {
        let rc = sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql) }
    }

    func prepare(_ sql: String) throws(StoreError) -> Statement {
        var s: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &s, nil)
        guard rc == SQLITE_OK, let s else { throw error(rc, sql) }
        return Statement(db: self, stmt: s, sql: sql)
    }

    /// Transactions open on this connection: an inner one runs inside the outer (SQLite does not nest them).
    private var depth = 0

    /// Runs `body` in one IMMEDIATE transaction (the write lock is taken up front, so it cannot fail half-way
    /// with SQLITE_BUSY); any thrown error rolls everything back.
    func transaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        if depth > 0 { return try body() }
        depth += 1
        defer { depth -= 1 }
        try exec("BEGIN IMMEDIATE")
        do {
            let v = try body()
            try exec("COMMIT")
            return v
        } catch {
            try? exec("ROLLBACK")
            throw error
        }
    }

    /// Runs `body` inside the open transaction so that a thrown error undoes its writes alone: several edits
    /// share one commit (one fsync), each still all or nothing.
    func savepoint<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try exec("SAVEPOINT edit")
        do {
            let v = try body()
            try exec("RELEASE edit")
            return v
        } catch {
            try? exec("ROLLBACK TO edit")
            try? exec("RELEASE edit")
            throw error
        }
    }

    /// A read transaction: a consistent snapshot across several SELECTs while writers commit.
    func readTransaction<T>(_ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        if depth > 0 { return try body() }
        depth += 1
        defer { depth -= 1 }
        try exec("BEGIN DEFERRED")
        defer { try? exec("COMMIT") }
        return try body()
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    func scalarInt(_ sql: String) throws(StoreError) -> Int64 {
        let s = try prepare(sql)
        guard try s.step() else { throw StoreError(.sqlite, "no row from \(sql)") }
        return s.int(0)
    }
}

/// A prepared statement; reset and reused by its owner.
final class Statement {
    let db: Database
    let stmt: OpaquePointer
    let sql: String

    init(db: Database, stmt: OpaquePointer, sql: String) {
        self.db = db
        self.stmt = stmt
        self.sql = sql
    }

    deinit { sqlite3_finalize(stmt) }

    @discardableResult
    func bind(_ values: [SQLValue]) throws(StoreError) -> Statement {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
        for (i, v) in values.enumerated() {
            let idx = Int32(i + 1)
            switch v {
            case .int(let x): try bind(idx, x)
            case .text(let s): try check(sqlite3_bind_text(stmt, idx, s, -1, jam_sqlite_transient()))
            case .blob(let b): try bind(idx, bytes: b)
            case .null: try check(sqlite3_bind_null(stmt, idx))
            }
        }
        return self
    }

    /// Binding one column at a time, with no array of values: for loops that write many rows (an import of a
    /// million records). Start each row with `reset()`; every column must be bound again.
    func reset() { sqlite3_reset(stmt) }

    func bind(_ col: Int32, _ v: Int64) throws(StoreError) { try check(sqlite3_bind_int64(stmt, col, v)) }

    /// SQLite copies the bytes: the buffer may be reused for the next row.
    func bind(_ col: Int32, bytes b: [UInt8]) throws(StoreError) {
        try check(b.withUnsafeBytes { p in sqlite3_bind_blob(stmt, col, p.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(b.count), jam_sqlite_transient()) })
    }

    private func check(_ rc: Int32) throws(StoreError) {
        guard rc == SQLITE_OK else { throw db.error(rc, sql) }
    }

    /// Steps once: true if a row is available.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw db.error(rc, sql)
        }
    }

    func run(_ values: [SQLValue] = []) throws(StoreError) {
        try bind(values)
        while try step() {}
    }

    func int(_ col: Int32) -> Int64 { sqlite3_column_int64(stmt, col) }
    func isNull(_ col: Int32) -> Bool { sqlite3_column_type(stmt, col) == SQLITE_NULL }
    func text(_ col: Int32) -> String {
        guard let p = sqlite3_column_text(stmt, col) else { return "" }
        return String(cString: p)
    }
    /// A column's bytes in place, valid for `body` only: no copy for a value that is only compared.
    func withBlob<T>(_ col: Int32, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        let p = sqlite3_column_blob(stmt, col)  // before _bytes, as SQLite asks
        let n = Int(sqlite3_column_bytes(stmt, col))
        return body(UnsafeRawBufferPointer(start: n > 0 ? p : nil, count: n > 0 ? n : 0))
    }

    func blob(_ col: Int32) -> [UInt8] { withBlob(col) { Array($0) } }
}

enum SQLValue {
    case int(Int64)
    case text(String)
    case blob([UInt8])
    case null
}

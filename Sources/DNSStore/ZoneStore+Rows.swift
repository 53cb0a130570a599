import DNSWire

/// How a record is a row of `records` (schema 6): keyed by zone, owner lowercased, type and canonical RDATA
/// (RFC 4034 §6.2), the table's primary key; the owner and RDATA as written stored next to it, empty when equal
/// to their keys, as most are. Neither an owner name nor the key of a non-empty RDATA is ever empty, and an
/// empty RDATA has an empty key, so reading an empty column as its key is exact.
struct RecordRow {
    /// The columns a reader selects, in the order `record(from:)` reads them.
    static let columns = "owner, type, ttl, rdata, owner_key, rdata_key"

    private var rdata = WireWriter(capacity: 256), key = WireWriter(capacity: 256)

    init() {
        rdata.compressionEnabled = false
        key.compressionEnabled = false
    }

    /// Binds `r` as (owner, owner_key, type, ttl, rdata, rdata_key) from column `first` on, into buffers reused
    /// from row to row: no array per column or per row.
    mutating func bind(_ r: ResourceRecord, to s: Statement, from first: Int32) throws(StoreError) {
        let owner = r.name.wire, ownerKey = r.name.lowercased.wire
        rdata.reset()
        key.reset()
        r.rdata.write(to: &rdata, canonical: false)
        r.rdata.write(to: &key, canonical: true)
        try s.bind(first, bytes: owner == ownerKey ? [] : owner)
        try s.bind(first + 1, bytes: ownerKey)
        try s.bind(first + 2, Int64(r.type.rawValue))
        try s.bind(first + 3, Int64(r.ttl))
        try s.bind(first + 4, bytes: rdata.bytes == key.bytes ? [] : rdata.bytes)
        try s.bind(first + 5, bytes: key.bytes)
    }
}

extension ZoneStore {
    /// The record of a row selected as `RecordRow.columns` from column `first` on.
    func record(from s: Statement, at first: Int32 = 0) throws(StoreError) -> ResourceRecord {
        var owner = s.blob(first)
        if owner.isEmpty { owner = s.blob(first + 4) }
        // The RDATA is only read from: copied into one buffer reused row after row, not an array per row.
        let rdata = s.withBlob(first + 3) { $0.isEmpty } ? first + 5 : first + 3
        rowBuffer.removeAll(keepingCapacity: true)
        s.withBlob(rdata) { rowBuffer.append(contentsOf: $0) }
        return try decodeRecord(owner: owner, type: s.int(first + 1), ttl: s.int(first + 2), rdata: rowBuffer)
    }
}

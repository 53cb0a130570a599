#if canImport(Glibc)
import Glibc
#endif
import DNSWire
import DNSZone
import SystemIO

/// Reading zone files from disk (the I/O half of zone-file handling; the parser itself is pure).
public enum ZoneFiles {
    /// Reads a whole file (up to 256 MiB); errors name the path and the reason.
    public static func read(_ path: String) throws(StoreError) -> [UInt8] {
        do { return try FileReader.bytes(path, cap: FileReader.zoneCap) } catch { throw StoreError(.io, error.message) }
    }

    static func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }

    /// The zone a file is for (`origin`, else the file name without ".zone") and its records for
    /// `ZoneStore.importZone(_:producing:)`: the file is read and parsed on the producer's thread, in batches,
    /// each owner checked against the zone. Errors name the file and line. `$INCLUDE` may only name files
    /// inside the zone file's own directory (symlinks resolved), by a relative path or by an absolute one.
    public static func producer(path: String, origin: DNSName?) throws(StoreError) -> (DNSName, ZoneStore.RecordProducer) {
        let o = try zoneName(path: path, origin: origin)
        return (o, { (emit) throws(StoreError) in
            var parser = try parser(path: path, origin: o)
            var batch: [ResourceRecord] = []
            batch.reserveCapacity(ZoneBuilder.batchSize)
            while true {
                let next: ParsedRecord?
                do throws(ZoneParseError) { next = try parser.next() } catch { throw StoreError(.rejected, error.description) }
                guard let p = next else { break }
                guard p.record.name.isSubdomain(of: o) else {
                    throw StoreError(.rejected, "\(p.file):\(p.line): owner \(p.record.name) is outside zone \(o); fix the name or $ORIGIN")
                }
                batch.append(p.record)
                if batch.count == ZoneBuilder.batchSize {
                    try emit(batch)
                    batch = []
                    batch.reserveCapacity(ZoneBuilder.batchSize)
                }
            }
            try emit(batch)
        })
    }

    static func zoneName(path: String, origin: DNSName?) throws(StoreError) -> DNSName {
        if let origin { return origin }
        let name = String(path.split(separator: "/").last ?? "")
        if name.hasSuffix(".zone"), let n = try? DNSName(String(name.dropLast(5)) + ".") { return n }
        throw StoreError(.rejected, "\(path): cannot tell the zone's name from the file name; pass --zone NAME")
    }

    /// A parser over the file's text, with `$INCLUDE` confined as `producer` says.
    static func parser(path: String, origin: DNSName) throws(StoreError) -> ZoneFileParser {
        let dir: String = {
            let parts = path.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count > 1 ? parts.dropLast().joined(separator: "/") : "."
        }()
        // One rule however the zone file was named (relative or absolute): includes resolve against the zone
        // file's real directory and must stay inside it, lexically and with symlinks followed.
        let rootReal = realPath(dir.isEmpty ? "/" : dir) ?? dir
        let loader: IncludeLoader = { p in
            guard let real = realPath(p), real.hasPrefix(rootReal + "/") else {
                throw StoreError(.rejected, "\(p) is outside \(rootReal) or does not exist")
            }
            return try read(real)
        }
        return ZoneFileParser(text: try read(path), file: path, origin: origin, includeRoot: rootReal, includeLoader: loader)
    }

    /// Imports every `NAME.zone` file of a directory (the first-start seed).
    public static func importDirectory(_ dir: String, into store: ZoneStore) throws -> [(DNSName, Int)] {
        guard let d = opendir(dir) else { throw StoreError(.io, "cannot open zone directory \(dir): \(String(cString: strerror(errno)))") }
        var names: [String] = []
        while let e = readdir(d) {
            let n = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if n.hasSuffix(".zone") { names.append(n) }
        }
        closedir(d)
        var out: [(DNSName, Int)] = []
        for n in names.sorted() {
            let (origin, records) = try producer(path: dir + "/" + n, origin: nil)
            let diff = try store.importZone(origin, producing: records)
            out.append((origin, diff.added.count))
        }
        return out
    }
}

import DNSWire
import DNSZone

extension ZoneStore {
    // MARK: loading for the server

    /// Builds the served catalog from one consistent read of every zone. A zone that fails its checks (possible
    /// only if the file was edited by hand) is left out and reported.
    public func loadCatalog(generation: UInt64) throws(StoreError) -> (Catalog, [String]) {
        try db.readTransaction { () throws(StoreError) -> (Catalog, [String]) in
            let s = try db.prepare("SELECT id, name, fallthrough FROM zones ORDER BY id")
            var list: [(Int64, String, Fallthrough)] = []
            while try s.step() { list.append((s.int(0), s.text(1), Fallthrough(rawValue: Int(s.int(2))) ?? .off)) }
            var zones: [Zone] = []
            var problems: [String] = []
            for (id, name, mode) in list {
                guard let origin = try? DNSName(name) else {
                    problems.append("zone '\(name)' has an invalid name; skipped")
                    continue
                }
                var b = ZoneBuilder(origin: origin, fallthroughMode: mode)
                for r in try records(zoneID: id) { b.add(r) }
                do { zones.append(try b.build()) } catch { problems.append("zone \(origin) not served: \(error)") }
            }
            return (Catalog(zones: zones, generation: generation, upstreamNames: try upstreamNames()), problems)
        }
    }
}

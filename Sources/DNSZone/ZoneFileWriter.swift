import DNSWire

/// Writes a zone in a canonical master-file form that BIND, NSD, Knot and ldns read: $ORIGIN and $TTL first,
/// SOA first, then owners in canonical order, one record per line, relative owners, absolute rdata names.
public enum ZoneFileWriter {
    public static func write(_ records: [ResourceRecord], origin: DNSName) -> String {
        var out = "$ORIGIN \(origin)\n"
        let soa = records.first { $0.type == .soa && $0.name == origin }
        if let soa { out += "$TTL \(soa.ttl)\n" }
        var sorted = records.filter { !($0.type == .soa && $0.name == origin) }
        sorted.sort {
            if $0.name != $1.name { return $0.name < $1.name }
            if $0.type != $1.type { return $0.type < $1.type }
            return $0.rdata.wireBytes(canonical: true).lexicographicallyPrecedes($1.rdata.wireBytes(canonical: true))
        }
        let ordered = (soa.map { [$0] } ?? []) + sorted
        let width = max(1, ordered.map { $0.name.relativeDescription(to: origin).count }.max() ?? 1)
        for rr in ordered {
            let owner = rr.name.relativeDescription(to: origin)
            let pad = String(repeating: " ", count: max(1, width - owner.count + 1))
            let typeText = rr.type.mnemonic ?? "TYPE\(rr.type.rawValue)"
            let rdata: String
            if rr.type.mnemonic == nil || { if case .unknown = rr.rdata { return true } else { return false } }() {
                rdata = rr.rdata.genericPresentation
            } else {
                rdata = rr.rdata.presentation
            }
            out += "\(owner)\(pad)\(rr.ttl) IN \(typeText) \(rdata)\n"
        }
        return out
    }
}

import DNSWire

/// The property the zone-file fuzz target checks, shared with `swift test`'s corpus replay.
public enum ZoneFuzzChecks {
    /// Parse text as a zone; every record that parses must print in presentation format and parse back to
    /// the same RDATA.
    public static func zoneText(_ bytes: [UInt8]) {
        let origin = DNSName.root
        var p = ZoneFileParser(text: bytes, file: "fuzz", origin: (try? DNSName("fuzz.test.")) ?? origin)
        var n = 0
        while n < 10_000, let r = try? p.next() {
            n += 1
            let rr = r.record
            let text = rr.rdata.presentation
            guard let back = try? RData.parse(text: text, type: rr.type, origin: rr.name) else { fatalError("printed RDATA does not re-parse: \(rr.type) \(text)") }
            precondition(back == rr.rdata || rr.type.mnemonic == nil, "RDATA changed after a text round trip: \(rr.type) \(text)")
        }
    }
}

import DNSWire
import DNSZone

/// libFuzzer entry: any bytes read as an RFC 2136 UPDATE of lab.test.: parsed (forms, zone, names), its
/// prerequisites judged and its updates applied to a small zone. Never a trap, and whatever the message, the
/// zone keeps exactly one apex SOA, at least one apex NS, and no CNAME beside other data (§3.4.2).
let zone = try! DNSName("lab.test.")
let base: [ResourceRecord] = {
    var p = ZoneFileParser(text: """
        $ORIGIN lab.test.
        $TTL 300
        @ SOA ns1 h 5 3600 600 86400 300
        @ NS ns1
        ns1 A 192.0.2.1
        www A 192.0.2.2
        www TXT "x"
        alias CNAME www
        """, origin: nil)
    return try! p.all().map(\.record)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzUpdate(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard let m = try? Message.parse(Array(UnsafeBufferPointer(start: data, count: size))),
          let req = try? Update.parse(m, served: { $0 == zone }) else { return 0 }
    var records = base
    _ = Update.check(req.prerequisites, records: { n in records.filter { $0.name == n } })
    Update.apply(req.updates, zone: zone, to: &records)
    precondition(records.filter { $0.name == zone && $0.type == .soa }.count == 1, "the apex SOA is gone or doubled")
    precondition(records.contains { $0.name == zone && $0.type == .ns }, "the apex lost its last NS")
    for r in records where r.type == .cname {
        precondition(!records.contains { $0.name == r.name && $0.type != .cname && ![46, 47, 50].contains($0.type.rawValue) }, "data beside a CNAME")
        precondition(records.filter { $0.name == r.name && $0.type == .cname }.count == 1, "two CNAMEs at one name")
    }
    return 0
}

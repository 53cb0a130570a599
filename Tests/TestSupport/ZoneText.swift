import DNSWire
import DNSZone

/// Zones and catalogs from zone-file text, the way every test writes them (CoreDNS's test helpers keep records
/// as text too). A zone that does not build is a broken test, so it traps with the problems.
public enum ZoneText {
    public static func zone(_ text: String, origin: String? = nil, fallthrough mode: Fallthrough = .off) -> Zone {
        let o = origin.map { try! DNSName($0) }
        var parser = ZoneFileParser(text: text, origin: o)
        let records = try! parser.all().map(\.record)
        let name = o ?? records.first { $0.type == .soa }!.name
        var b = ZoneBuilder(origin: name, fallthroughMode: mode)
        for r in records { b.add(r) }
        do { return try b.build() } catch { fatalError("test zone does not build: \(error)") }
    }

    public static func catalog(_ zones: [Zone], upstreamNames: [String] = [], generation: UInt64 = 1) -> Catalog {
        Catalog(zones: zones, generation: generation, upstreamNames: upstreamNames.map { try! DNSName($0) })
    }

    /// The lab's zone, small: apex and wildcard at the proxy, two hosts.
    public static let lab = """
        $ORIGIN lab.test.
        $TTL 300
        @ SOA ns1 hostmaster 1 3600 600 1209600 300
        @ NS ns1
        @ A 192.0.2.80
        * A 192.0.2.80
        ns1 A 192.0.2.53
        nas A 192.0.2.66
        """
}

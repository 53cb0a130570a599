import DNSWire
import DNSZone

/// What the store's zones become before they are served, for catalog zones (RFC 9432): the catalog this
/// server publishes is made from its primary zones and added; the catalogs it consumes lend their members
/// the custom properties jamdns carries (names resolved upstream, fallthrough mode), so a secondary answers
/// those names as its primary does. Owned by the store watcher's thread.
struct CatalogPublisher {
    /// The published catalog's serial: moves only when its member list or their properties change (each
    /// change NOTIFYs its secondaries), and starts from the journal position, which never goes back.
    private var serial: UInt32?
    private var last: [CatalogZone.Member]?
    /// The store's own names resolved upstream (the served list adds the consumed catalogs'): set from every
    /// full load and settings change, since a journal step starts from the served, decorated list.
    var storeUpstream: [DNSName] = []

    mutating func decorate(_ c: Catalog, position: Int64, policy: Policy, logProblem: (String) -> Void) -> Catalog {
        let consumed = policy.zoneConfigs.values.filter(\.isCatalog).map(\.name)
        let secondaries = Set(policy.secondaries?.configured.map(\.name) ?? [])
        guard policy.publishCatalog != nil || !consumed.isEmpty else { return c }
        var zones = c.zones
        var upstream = storeUpstream
        for name in consumed {
            guard let cat = zones[name] else { continue }
            let (members, problems) = CatalogZone.members(of: cat)
            problems.forEach(logProblem)
            for m in members {
                upstream += m.resolvedUpstream.filter { !upstream.contains($0) }
                if let z = zones[m.zone] { zones[m.zone] = z.with(fallthroughMode: m.fallthroughMode) }
            }
        }
        if let publish = policy.publishCatalog {
            let members = zones.keys.filter { $0 != publish && !secondaries.contains($0) && !consumed.contains($0) }.sorted().map { origin in
                // A name resolved upstream belongs to the most specific zone holding it.
                let own = storeUpstream.filter { n in n.isSubdomain(of: origin) && !zones.keys.contains { $0 != origin && $0.isSubdomain(of: origin) && n.isSubdomain(of: $0) } }
                return CatalogZone.Member(zone: origin, resolvedUpstream: own.sorted(), fallthroughMode: zones[origin]!.fallthroughMode)
            }
            if members != last || serial == nil {
                let base = UInt32(truncatingIfNeeded: max(1, position))
                serial = serial.map { serialNewer(base, than: $0) ? base : $0 &+ 1 } ?? base
                last = members
            }
            if let zone = CatalogZone.build(origin: publish, members: members, serial: serial!) { zones[publish] = zone }
        }
        return Catalog(zones: Array(zones.values), generation: c.generation, upstreamNames: upstream)
    }
}

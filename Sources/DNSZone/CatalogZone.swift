import DNSWire

/// Catalog zones (RFC 9432, schema version 2): a zone that lists other zones, so a secondary learns which
/// zones to serve from its primary instead of its own configuration. Made (`build`) by a primary that
/// publishes its zones, read (`members`) by a secondary that consumes one. Besides the member list, jamdns
/// carries two custom properties (§4.4, below `ext`) per member: the names inside it resolved upstream, and
/// its fallthrough mode, so a secondary answers those names as the primary does.
public enum CatalogZone {
    /// One zone listed in a catalog.
    public struct Member: Sendable, Equatable {
        public var zone: DNSName
        /// Names at or below which the primary resolves upstream instead of answering (dnsmasq's server=/name/).
        public var resolvedUpstream: [DNSName] = []
        public var fallthroughMode: Fallthrough = .off

        public init(zone: DNSName, resolvedUpstream: [DNSName] = [], fallthroughMode: Fallthrough = .off) {
            self.zone = zone
            self.resolvedUpstream = resolvedUpstream
            self.fallthroughMode = fallthroughMode
        }
    }

    static let upstreamLabel = "resolve-upstream"
    static let fallthroughLabel = "fallthrough"

    /// The member's unique label (§4.1: any label unique within the catalog; a hash of the name keeps it
    /// stable across rebuilds, so a member is never seen as removed and added again).
    public static func uniqueLabel(_ zone: DNSName) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in zone.lowercased.wire {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        let hex = String(h, radix: 16)
        return "m" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The catalog zone `origin` listing `members`, with `serial`.
    public static func build(origin: DNSName, members: [Member], serial: UInt32) -> Zone? {
        func name(_ labels: String) -> DNSName? { try? DNSName(labels + "." + origin.description) }
        guard let mname = try? DNSName("invalid.") else { return nil }
        var b = ZoneBuilder(origin: origin)
        b.add(ResourceRecord(name: origin, type: .soa, ttl: 0, rdata: .soa(SOA(mname: mname, rname: mname, serial: serial, refresh: 3600, retry: 600, expire: 2_419_200, minimum: 0))))
        b.add(ResourceRecord(name: origin, type: .ns, ttl: 0, rdata: .ns(mname)))
        if let v = name("version") { b.add(ResourceRecord(name: v, type: .txt, ttl: 0, rdata: .txt(TXT([Array("2".utf8)])))) }
        for m in members.sorted(by: { $0.zone < $1.zone }) {
            let id = uniqueLabel(m.zone)
            guard let owner = name("\(id).zones") else { continue }
            b.add(ResourceRecord(name: owner, type: .ptr, ttl: 0, rdata: .ptr(m.zone)))
            if let p = name("\(upstreamLabel).ext.\(id).zones") {
                for u in m.resolvedUpstream { b.add(ResourceRecord(name: p, type: .txt, ttl: 0, rdata: .txt(TXT([Array(u.description.utf8)])))) }
            }
            if m.fallthroughMode != .off, let p = name("\(fallthroughLabel).ext.\(id).zones") {
                b.add(ResourceRecord(name: p, type: .txt, ttl: 0, rdata: .txt(TXT([Array(m.fallthroughMode.description.utf8)]))))
            }
        }
        return try? b.build()
    }

    /// The members a catalog lists, with jamdns's custom properties. A catalog of another schema version
    /// (§4.2.1: a consumer must not use one it does not know), or a member with two PTRs (§4.1), is left out.
    public static func members(of zone: Zone) -> (members: [Member], problems: [String]) {
        let origin = zone.origin
        guard let zonesLabel = try? DNSName("zones." + origin.description) else { return ([], []) }
        let version = (try? DNSName("version." + origin.description)).flatMap { zone.rrset($0, .txt) }
        guard let v = version, v.rdatas.count == 1, case .txt(let t) = v.rdatas[0], t.strings == [Array("2".utf8)] else {
            return ([], ["catalog \(origin) has no version.\(origin) TXT \"2\" (RFC 9432 §4.2.1); none of its members are used"])
        }
        var out: [Member] = [], problems: [String] = []
        var seen: Set<DNSName> = []
        for (name, node) in zone.allNodes where name.labelCount == zonesLabel.labelCount + 1 && name.isSubdomain(of: zonesLabel) {
            guard let ptr = node.rrsets[.ptr] else { continue }
            guard ptr.rdatas.count == 1, case .ptr(let member) = ptr.rdatas[0] else {
                problems.append("catalog \(origin): \(name) has \(ptr.rdatas.count) PTR records, RFC 9432 §4.1 allows one; member left out")
                continue
            }
            guard seen.insert(member).inserted else {
                problems.append("catalog \(origin) lists \(member) twice; the second is left out")
                continue
            }
            var m = Member(zone: member)
            if let id = name.labels.first.map({ String(decoding: $0, as: UTF8.self) }), let p = try? DNSName("\(upstreamLabel).ext.\(id).zones.\(origin.description)"), let set = zone.rrset(p, .txt) {
                for rd in set.rdatas {
                    if case .txt(let t) = rd, let text = String(validating: t.strings.joined(), as: UTF8.self), let n = try? DNSName(text), n.isSubdomain(of: member) {
                        m.resolvedUpstream.append(n)
                    }
                }
            }
            if let id = name.labels.first.map({ String(decoding: $0, as: UTF8.self) }), let p = try? DNSName("\(fallthroughLabel).ext.\(id).zones.\(origin.description)"),
               let set = zone.rrset(p, .txt), case .txt(let t)? = set.rdatas.first, let text = String(validating: t.strings.joined(), as: UTF8.self),
               let mode = Fallthrough(text: text) {
                m.fallthroughMode = mode
            }
            out.append(m)
        }
        return (out.sorted { $0.zone < $1.zone }, problems)
    }
}

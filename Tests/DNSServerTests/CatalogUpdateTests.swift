#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import DNSWire
import DNSZone
import Testing
@testable import DNSServer

/// What the store watcher does with each commit: the journal entries applied to the served catalog must give
/// exactly what loading the whole store gives, for every kind of change.
@Suite struct CatalogUpdateTests {
    static let lab = """
        $ORIGIN jamfox.dev.
        $TTL 3600
        @ SOA rpi0 hostmaster 2026010100 3600 600 1209600 300
        @ NS rpi0
        * A 192.168.10.80
        rpi0 A 192.168.10.53
        vs0 A 192.168.10.130
        a.b.deep A 192.168.10.7
        """
    static let origin = try! DNSName("jamfox.dev.")

    static func name(_ s: String) -> DNSName { try! DNSName(s) }
    static func a(_ n: String, _ v: UInt32, ttl: UInt32 = 60) -> ResourceRecord {
        ResourceRecord(name: name(n), type: .a, ttl: ttl, rdata: .a(IPv4Address(v)))
    }

    /// Each step is one commit of a different kind.
    static let steps: [(String, @Sendable (ZoneStore) throws -> Void)] = [
        ("add a name", { s in try s.edit(zone: origin, names: [name("new.jamfox.dev.")]) { $0.append(a("new.jamfox.dev.", 1)) } }),
        ("replace an RRset with another TTL", { s in
            try s.edit(zone: origin, names: [name("vs0.jamfox.dev.")]) { r in
                r.removeAll { $0.name == name("vs0.jamfox.dev.") }
                r += [a("vs0.jamfox.dev.", 2, ttl: 30), a("vs0.jamfox.dev.", 3, ttl: 30)]
            }
        }),
        ("remove the only name under two empty non-terminals", { s in
            try s.edit(zone: origin, names: [name("a.b.deep.jamfox.dev.")]) { $0.removeAll { $0.name == name("a.b.deep.jamfox.dev.") } }
        }),
        ("add a cut with glue", { s in
            try s.edit(zone: origin, names: [name("lab.jamfox.dev."), name("ns.lab.jamfox.dev.")]) { r in
                r += [ResourceRecord(name: name("lab.jamfox.dev."), type: .ns, ttl: 60, rdata: .ns(name("ns.lab.jamfox.dev."))), a("ns.lab.jamfox.dev.", 4)]
            }
        }),
        ("mark a name resolved upstream", { s in try s.addUpstreamName(name("vpn.jamfox.dev.")) }),
        ("let the zone fall through", { s in try s.setFallthrough(origin, .types) }),
        ("add a zone", { s in try s.addZone(name("lan.test.")) }),
        ("edit the new zone", { s in try s.edit(zone: name("lan.test."), names: [name("x.lan.test.")]) { $0.append(a("x.lan.test.", 5)) } }),
        ("remove it", { s in try s.removeZone(name("lan.test.")) }),
        ("a change larger than the journal keeps rows for", { s in
            var p = ZoneFileParser(text: lab, origin: nil)
            var recs = try p.all().map(\.record)
            for i in 0..<40 { recs.append(a("bulk\(i).jamfox.dev.", UInt32(i))) }
            try s.importZone(origin, records: recs)
        }),
    ]

    static func same(_ a: Catalog, _ b: Catalog, _ step: String) {
        #expect(Set(a.zones.keys) == Set(b.zones.keys), "\(step): zones")
        #expect(a.upstreamNames == b.upstreamNames, "\(step): upstream names")
        for (origin, x) in a.zones {
            guard let y = b.zones[origin] else { continue }
            #expect(x.soa == y.soa && x.soaTTL == y.soaTTL && x.fallthroughMode == y.fallthroughMode, "\(step): \(origin) SOA and mode")
            let xn = Dictionary(uniqueKeysWithValues: x.allNodes.map { ($0.name, $0.node.rrsets) })
            let yn = Dictionary(uniqueKeysWithValues: y.allNodes.map { ($0.name, $0.node.rrsets) })
            #expect(Set(xn.keys) == Set(yn.keys), "\(step): \(origin) names")
            for (n, sets) in xn {
                // RRsets compare as sets of records: the journal may add them in another order than a load reads them.
                #expect(sets.values.map { Set($0.records()) } == yn[n]?.values.map { Set($0.records()) }, "\(step): \(n)")
            }
            #expect(x.recordCount == y.recordCount, "\(step): \(origin) record count")
        }
    }

    @Test("journal entries applied one commit at a time give what a full load gives")
    func followsTheStore() throws {
        var tmpl = Array("/tmp/jamdns-catalog-update-XXXXXX".utf8CString)
        let dir = tmpl.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        let s = try ZoneStore(path: dir + "/store.sqlite", now: { 1_795_262_400 })
        s.journalLimits.maxRecords = 20
        var p = ZoneFileParser(text: Self.lab, origin: nil)
        try s.importZone(Self.origin, records: try p.all().map(\.record))
        let first = try s.loadSnapshot(generation: 1)
        var current = (catalog: first.catalog, changeID: first.changeID)
        for (what, step) in Self.steps {
            try step(s)
            let changes = try #require(try s.changes(after: current.changeID), "\(what): the journal reaches back")
            #expect(!changes.isEmpty, "\(what): journaled")
            var update = CatalogUpdate(current.catalog)
            let needsFullLoad = update.apply(changes)
            #expect(!needsFullLoad, "\(what): applied without a full load")
            let problems = try update.finish(store: s)
            #expect(problems.isEmpty)
            let applied = Catalog(zones: Array(update.zones.values), upstreamNames: update.upstreamNames)
            Self.same(applied, try s.loadSnapshot(generation: 2).catalog, what)
            current = (applied, changes.last?.id ?? current.changeID)
        }
    }
}

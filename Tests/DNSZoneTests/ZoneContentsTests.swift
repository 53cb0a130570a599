import DNSWire
import Testing
import TestSupport
@testable import DNSZone

/// A zone changed record by record (`Zone.applying`, what the server does for each journal entry) must equal
/// the zone built from scratch from the same records: nodes, empty non-terminals, child counts, cut flags,
/// occlusion and every lookup.
@Suite struct ZoneContentsTests {
    static let origin = try! DNSName("z.test.")
    static let apex: [ResourceRecord] = [
        ResourceRecord(name: origin, type: .soa, ttl: 60, rdata: .soa(SOA(mname: try! DNSName("ns.z.test."), rname: try! DNSName("h.z.test."),
                                                                          serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 1))),
        ResourceRecord(name: origin, type: .ns, ttl: 60, rdata: .ns(try! DNSName("ns.z.test."))),
    ]

    /// Names three levels deep under the apex, so changes create and remove empty non-terminals and cuts.
    static let pool: [DNSName] = {
        var out: [DNSName] = []
        for a in ["a", "b", "*"] { for b in ["", "x.", "y.x."] { out.append(try! DNSName(b + a + ".z.test.")) } }
        out.append(try! DNSName("c.b.z.test."))
        out.append(try! DNSName("ns.a.z.test."))
        return out
    }()

    static func record(_ r: inout SeededRandom) -> ResourceRecord {
        let name = pool[r.next(below: pool.count)]
        switch r.next(below: 3) {
        case 0: return ResourceRecord(name: name, type: .a, ttl: 60, rdata: .a(IPv4Address(UInt32(r.next(below: 3)))))
        case 1: return ResourceRecord(name: name, type: .txt, ttl: 60, rdata: .txt(TXT([Array("t\(r.next(below: 2))".utf8)])))
        default:
            // NS (a cut) only at names that may hold one: not a wildcard.
            if name.isWildcard { return ResourceRecord(name: name, type: .a, ttl: 60, rdata: .a(IPv4Address(9))) }
            return ResourceRecord(name: name, type: .ns, ttl: 60, rdata: .ns(try! DNSName("ns.a.z.test.")))
        }
    }

    static func fresh(_ records: [ResourceRecord]) throws -> Zone {
        var b = ZoneBuilder(origin: origin)
        for r in apex + records { b.add(r) }
        return try b.build()
    }

    static func same(_ a: Zone, _ b: Zone, step: Int) {
        let an = Dictionary(uniqueKeysWithValues: a.allNodes.map { ($0.name, $0.node) })
        let bn = Dictionary(uniqueKeysWithValues: b.allNodes.map { ($0.name, $0.node) })
        #expect(Set(an.keys) == Set(bn.keys), "step \(step): node names")
        for (name, x) in an {
            guard let y = bn[name] else { continue }
            #expect(x.rrsets == y.rrsets, "step \(step): \(name) data")
            #expect(x.isDelegation == y.isDelegation, "step \(step): \(name) cut")
            #expect(x.children == y.children, "step \(step): \(name) children")
        }
        #expect(a.recordCount == b.recordCount, "step \(step): record count")
        #expect(a.hasDelegations == b.hasDelegations, "step \(step): delegations")
        let probes = pool + [try! DNSName("q.a.z.test."), try! DNSName("q.y.x.b.z.test."), try! DNSName("x.z.test."), origin]
        for n in probes {
            #expect(a.isOccluded(n) == b.isOccluded(n), "step \(step): \(n) occluded")
            for t in [RRType.a, .txt, .ns, .ds, .any] { #expect(a.lookup(n, t) == b.lookup(n, t), "step \(step): lookup \(n) \(t)") }
        }
    }

    @Test("300 random adds and removes applied one by one give the zone a fresh build gives")
    func incrementalEqualsFresh() throws {
        var rng = SeededRandom(default: 42)
        var records: [ResourceRecord] = []
        var zone = try Self.fresh([])
        for step in 0..<300 {
            let r = Self.record(&rng)
            let present = records.contains { $0.name == r.name && $0.type == r.type && $0.rdata == r.rdata }
            if present || (rng.next(below: 3) == 0 && !records.isEmpty) {
                let victim = present ? r : records[rng.next(below: records.count)]
                records.removeAll { $0.name == victim.name && $0.type == victim.type && $0.rdata == victim.rdata }
                zone = try #require(zone.applying(removed: [victim], added: []))
            } else {
                records.append(r)
                zone = try #require(zone.applying(removed: [], added: [r]))
            }
            Self.same(zone, try Self.fresh(records), step: step)
        }
    }

    @Test("the snapshot before a change is unchanged, and a change that removes the SOA is refused")
    func snapshotsStayAndSOAIsKept() throws {
        let a = ResourceRecord(name: try DNSName("h.z.test."), type: .a, ttl: 60, rdata: .a(IPv4Address(1)))
        let before = try Self.fresh([a])
        let after = try #require(before.applying(removed: [a], added: []))
        #expect(before.rrset(a.name, .a) != nil)
        #expect(after.rrset(a.name, .a) == nil && after.node(a.name) == nil)
        #expect(before.applying(removed: [Self.apex[0]], added: []) == nil)
    }

    @Test("a zone grown one name at a time splits its nodes into more shards and keeps every name")
    func growsShards() throws {
        var zone = try Self.fresh([])
        #expect(zone.contents.nodes.shards.count == 1)
        var added: [ResourceRecord] = []
        for i in 0..<3000 {
            let r = ResourceRecord(name: try DNSName("h\(i).g\(i % 7).z.test."), type: .a, ttl: 60, rdata: .a(IPv4Address(UInt32(i))))
            added.append(r)
            zone = try #require(zone.applying(removed: [], added: [r]))
        }
        #expect(zone.contents.nodes.shards.count > 1)
        #expect(zone.recordCount == 3002)
        for r in added { #expect(zone.rrset(r.name, .a)?.rdatas == [r.rdata]) }
        Self.same(zone, try Self.fresh(added), step: 3000)
    }

    @Test("the node map's open-addressed shards: 20,000 random inserts and removes agree with a set, and a copy taken midway is unchanged")
    func nodeMapAgreesWithSet() throws {
        var rng = SeededRandom(default: 7)
        // Few distinct hash homes relative to the names: long probe runs, so removal's backward shift is exercised.
        let names = try (0..<2000).map { try DNSName("n\($0).z.test.") }
        var map = NodeMap(expected: 0)
        var present = Set<Int>()
        var copy: NodeMap?, copyHeld = Set<Int>()
        for step in 0..<20000 {
            let i = rng.next(below: names.count)
            if present.contains(i) && rng.next(below: 2) == 0 {
                map[names[i]] = nil
                present.remove(i)
            } else {
                var n = Node()
                n.children = UInt32(i)
                map[names[i]] = n
                present.insert(i)
            }
            if step == 10000 { copy = map; copyHeld = present }
            if step % 997 == 0 || step == 19999 {
                #expect(map.count == present.count, "step \(step): count")
                for (j, name) in names.enumerated() {
                    #expect((map[name]?.children).map(Int.init) == (present.contains(j) ? j : nil), "step \(step): \(name)")
                }
            }
        }
        #expect(map.shards.count > 1)
        let c = try #require(copy)
        #expect(c.count == copyHeld.count)
        for (j, name) in names.enumerated() { #expect((c[name] != nil) == copyHeld.contains(j), "copy: \(name)") }
    }

    @Test("RRsets stay in type order with the lowest inline, and RDATA in the order added, whatever the order of changes")
    func inlineHeadsKeepOrder() throws {
        let n = try DNSName("x.z.test.")
        var sets = RRSets()
        for t in [RRType.txt, .a, .mx, .ns, .aaaa] { sets[t] = RRSet(name: n, type: t, ttl: 1, rdatas: []) }
        #expect(sets.types == [.a, .ns, .mx, .txt, .aaaa])
        sets[.a] = nil
        #expect(sets.types == [.ns, .mx, .txt, .aaaa] && sets.first?.type == .ns && sets.holds(.txt) && !sets.holds(.a))
        sets[.cname] = RRSet(name: n, type: .cname, ttl: 1, rdatas: [])
        #expect(sets.types == [.ns, .cname, .mx, .txt, .aaaa])
        #expect(withUnsafePointer(to: sets) { RRSets.holdAny($0, .a, .txt, .soa) } && !withUnsafePointer(to: sets) { RRSets.holdAny($0, .a, .soa, .ptr) })
        for t in sets.types { sets[t] = nil }
        #expect(sets.isEmpty && sets == RRSets())
        // Type 0 marks an empty inline head: it is never found, and cannot be stored.
        let zero = RRType(0)
        #expect(sets[zero] == nil && !sets.holds(zero) && sets.first == nil && sets.count == 0)
        sets[zero] = RRSet(name: n, type: zero, ttl: 1, rdatas: [])
        #expect(sets.isEmpty && !withUnsafePointer(to: sets) { RRSets.holdAny($0, zero, zero, zero) })
        sets[.mx] = RRSet(name: n, type: .mx, ttl: 1, rdatas: [])
        #expect(sets[zero] == nil && sets.count == 1 && sets.first?.type == .mx)

        var r: RDatas = [.a(IPv4Address(1)), .a(IPv4Address(2)), .a(IPv4Address(3))]
        r.remove(at: 0)
        #expect(Array(r) == [.a(IPv4Address(2)), .a(IPv4Address(3))])
        r.append(.a(IPv4Address(4)))
        r.remove(at: 1)
        #expect(r == [.a(IPv4Address(2)), .a(IPv4Address(4))] && r.count == 2)
        r.remove(at: 0)
        r.remove(at: 0)
        #expect(r.isEmpty && r == RDatas())
    }
}

/// What a node of a large zone costs, held to: a million-name zone is a million of these (plus the name's own
/// bytes and its slot). The field order in `RDatas` and `RRSets`, and no stored hash, keep it at 64.
@Suite struct NodeLayoutTests {
    @Test func entryIsSixtyFourBytes() {
        #expect(MemoryLayout<NodeMap.Entry>.stride == 64)
        #expect(MemoryLayout<Node>.size <= 56)
    }
}

import DNSWire
import Testing
@testable import DNSZone

@Suite struct ZoneBuilderTests {
    func build(_ text: String) throws(ZoneBuildError) -> Zone {
        var p = ZoneFileParser(text: "$ORIGIN z.test.\n$TTL 60\n" + text, origin: nil)
        var b = ZoneBuilder(origin: try! DNSName("z.test."))
        for r in try! p.all() { b.add(r.record) }
        return try b.build()
    }

    static let base = "@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"

    static let rejected: [(String, String)] = [
        ("@ NS ns\n", "no SOA"),
        ("@ SOA ns h 1 1 1 1 1\n", "no NS"),
        (base + "@ SOA ns h 2 1 1 1 1\n", "exactly one SOA"),
        (base + "www SOA ns h 1 1 1 1 1\n", "only allowed at the zone apex"),
        (base + "www CNAME ns\nwww A 192.0.2.2\n", "CNAME cannot coexist"),
        (base + "@ CNAME ns\n", "CNAME cannot be at the zone apex"),
        (base + "www CNAME a\nwww CNAME b\n", "more than one CNAME"),
        (base + "other.test. A 192.0.2.2\n", "outside zone"),
        (base + "*.w NS ns\n", "wildcard"),
    ]

    @Test("semantic checks reject bad zones and say why", arguments: 0..<rejected.count)
    func rejects(index: Int) {
        let (text, why) = Self.rejected[index]
        do {
            _ = try build(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.description.contains(why), "\(error)")
        }
    }

    @Test func duplicatesAndTTLMismatch() throws {
        var b = ZoneBuilder(origin: try DNSName("z.test."))
        let n = try DNSName("a.z.test.")
        b.add(ResourceRecord(name: n, type: .a, ttl: 60, rdata: .a(IPv4Address(1))))
        b.add(ResourceRecord(name: n, type: .a, ttl: 60, rdata: .a(IPv4Address(1))))
        b.add(ResourceRecord(name: n, type: .a, ttl: 30, rdata: .a(IPv4Address(2))))
        #expect(b.count == 2)
        #expect(b.problems.contains { $0.severity == .warning && $0.message.contains("TTL 30") })
    }

    @Test func flags() throws {
        let z = try build(Self.base + "d NS ns.d\nns.d A 192.0.2.9\na.b.c A 192.0.2.3\n")
        #expect(z.node(try DNSName("d.z.test."))?.isDelegation == true)
        #expect(z.isOccluded(try DNSName("ns.d.z.test.")))
        #expect(z.node(try DNSName("b.c.z.test."))?.isEmptyNonTerminal == true)
        #expect(z.node(try DNSName("c.z.test."))?.isEmptyNonTerminal == true)
    }

    /// A zone file with every outcome an add can have, names spread over many shards, and records of one name
    /// far apart (so batches split them): duplicates, TTLs differing within an RRset, rejected records, empty
    /// non-terminals, a cut with glue, a CNAME clash.
    static func mixed() throws -> [ResourceRecord] {
        var text = base + "deep.a.b.c A 192.0.2.9\nsub NS ns.sub\nns.sub A 192.0.2.8\nclash CNAME ns\n"
        for i in 0..<300 {
            text += "h\(i % 120) 60 A 10.0.\(i % 7).\(i % 120)\n"  // names again every 120: duplicates, one RRset grown
            if i % 50 == 0 { text += "h\(i % 120) 99 A 10.9.9.\(i / 50)\n" }  // joins with another TTL
            if i % 90 == 0 { text += "out\(i).other.test. A 192.0.2.1\n" }
            if i % 100 == 0 { text += "clash A 192.0.2.\(i / 100)\n" }
        }
        var p = ZoneFileParser(text: "$ORIGIN z.test.\n$TTL 60\n" + text, origin: nil)
        var records = try p.all().map(\.record)
        // Rejected ones a zone file cannot say: a TTL past 2^31 - 1, another class.
        for at in stride(from: records.count - 1, to: 0, by: -70) {
            var r = ResourceRecord(name: try DNSName("big\(at).z.test."), type: .a, ttl: 0xFFFF_FFFF, rdata: .a(IPv4Address(1)))
            records.insert(r, at: at)
            r.ttl = 60
            r.rrclass = .ch
            records.insert(r, at: at / 2)
        }
        return records
    }

    /// Every name with its node, for comparing two zones built differently.
    static func nodes(_ b: ZoneBuilder) -> [DNSName: (RRSets, UInt32, Bool)] {
        Dictionary(uniqueKeysWithValues: b.contents.nodes.all.map { ($0.key, ($0.value.rrsets, $0.value.children, $0.value.isDelegation)) })
    }

    @Test("records added in batches (shard order) give the zone, problems and kept records that adding them one at a time gives",
          arguments: [1, 7, 64, 1 << 16])
    func batchesAddAsOneByOne(batch: Int) throws {
        let records = try Self.mixed()
        let origin = try DNSName("z.test.")
        var single = ZoneBuilder(origin: origin)
        let keptSingly = records.map { single.add($0) }

        var batched = ZoneBuilder(origin: origin)
        batched.batch = batch
        var kept = records.map(Optional.some)
        var changed = 0
        batched.add(contentsOf: records) { i, k in kept[i] = k; changed += 1 }
        #expect(kept == keptSingly)
        // Told of exactly the records not held as given (the mix has duplicates, TTL joins and rejections).
        #expect(changed == records.indices.filter { keptSingly[$0] != records[$0] }.count && changed >= 15)

        // The same records handed over in parts of 13 (as an import's producer does): told by the whole list's index.
        var parted = ZoneBuilder(origin: origin)
        parted.batch = batch
        var keptParted = records.map(Optional.some)
        for from in stride(from: 0, to: records.count, by: 13) {
            parted.add(contentsOf: Array(records[from..<min(records.count, from + 13)]), numberedFrom: from) { i, k in keptParted[i] = k }
        }
        #expect(keptParted == keptSingly)

        var staged = ZoneBuilder(origin: origin)
        staged.batch = batch
        for r in records { staged.stage(r) }

        let want = single.checkPart { _ in false }
        #expect(want.contains { $0.message.contains("differs from the RRset") } && want.contains { $0.message.contains("outside zone") }
                && want.contains { $0.message.contains("above 2147483647") } && want.contains { $0.message.contains("class") })
        #expect(batched.checkPart { _ in false } == want)
        #expect(staged.checkPart { _ in false } == want)
        #expect(parted.checkPart { _ in false } == want)
        let expected = Self.nodes(single)
        for other in [batched, staged, parted] {
            let got = Self.nodes(other)
            #expect(got.count == expected.count && other.count == single.count)
            for (name, node) in expected {
                let g = got[name]
                #expect(g?.0 == node.0 && g?.1 == node.1 && g?.2 == node.2, "\(name)")
            }
        }
    }
}

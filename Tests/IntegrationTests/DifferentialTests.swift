import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The same zones loaded in Knot and in jamdns; many queries; answers compared section by section.
@Suite(.serialized) struct DifferentialTests {
    static let names = [
        "example.test.", "www.example.test.", "alias.example.test.", "ext.example.test.", "loop1.example.test.",
        "dangling.example.test.", "tonodata.example.test.", "towild.example.test.", "x.wild.example.test.",
        "y.z.wild.example.test.", "host.wild.example.test.", "wild.example.test.", "a.b.c.ent.example.test.",
        "b.c.ent.example.test.", "c.ent.example.test.", "ent.example.test.", "nx.ent.example.test.",
        "q.cwild.example.test.", "_sip._tcp.example.test.", "sub.example.test.", "ns1.sub.example.test.",
        "deep.below.sub.example.test.", "nodel.example.test.", "x.nodel.example.test.", "svc.example.test.",
        "sshhost.example.test.", "_443._tcp.www.example.test.", "naptr.example.test.", "unk.example.test.",
        "nothere.example.test.", "mail.example.test.", "ns1.example.test.", "ttl5.example.test.", "big.example.test.",
        "many.example.test.", "jamfox.dev.", "vs0.jamfox.dev.", "anything.jamfox.dev.", "a.b.jamfox.dev.",
        "rpi0.jamfox.dev.", "*.jamfox.dev.", "VS1.JamFox.DEV.", "wWw.ExAmPlE.TeSt.",
    ]
    static let types: [RRType] = [.a, .aaaa, .ns, .soa, .cname, .mx, .txt, .srv, .ds, .https, .svcb, .caa, .sshfp, .tlsa, .naptr, RRType(65280), .any, .dname, .dnskey]

    struct Shape: Equatable, CustomStringConvertible {
        var rcode: RCode, aa: Bool, tc: Bool
        var answer: [String], authority: [String], additional: [String]
        var hasOPT: Bool

        init(_ m: Message) {
            rcode = m.rcode
            aa = m.header.aa
            tc = m.header.tc
            func norm(_ rrs: [ResourceRecord]) -> [String] { rrs.map { $0.description.lowercased() }.sorted() }
            answer = norm(m.answers)
            authority = norm(m.authority)
            additional = norm(m.additional)
            hasOPT = m.edns != nil
        }

        var description: String {
            "\(rcode) aa=\(aa) tc=\(tc) opt=\(hasOPT)\n  AN \(answer)\n  NS \(authority)\n  AR \(additional)"
        }
    }

    final class Peers: @unchecked Sendable {
        let knot: KnotServer
        let jam: JamdnsServer
        init() throws {
            let fixtures = Env.root + "/Tests/Fixtures"
            let zonesDir = Env.tempDir("diffzones")
            for f in ["example.test.zone"] { Env.write(zonesDir + "/" + f, Env.read(fixtures + "/" + f)) }
            Env.write(zonesDir + "/jamfox.dev.zone", Env.read(Env.root + "/zones/jamfox.dev.zone"))
            knot = try KnotServer(zones: [("example.test.", zonesDir + "/example.test.zone"), ("jamfox.dev.", zonesDir + "/jamfox.dev.zone")])
            jam = try JamdnsServer(zones: zonesDir)
        }
    }

    static let peers = Result { try Peers() }

    func compare(_ name: String, _ type: RRType, edns: EDNS?, tcp: Bool = false) throws -> String? {
        let p = try Self.peers.get()
        return Self.compare(name, type, knot: p.knot.port, jamdns: p.jam.port, edns: edns, tcp: tcp)
    }

    /// nil when both servers give the same answer; otherwise both answers, for the failure message.
    static func compare(_ name: String, _ type: RRType, knot: UInt16, jamdns: UInt16, edns: EDNS?, tcp: Bool = false) -> String? {
        guard let k = DNSClient.ask(name, type, port: knot, edns: edns, tcp: tcp) else { return "\(name) \(type): knot did not answer" }
        guard let j = DNSClient.ask(name, type, port: jamdns, edns: edns, tcp: tcp) else { return "\(name) \(type): jamdns did not answer" }
        let ks = Shape(k), js = Shape(j)
        return ks == js ? nil : "\(name) \(type) edns=\(edns != nil) tcp=\(tcp)\n knot:   \(ks)\n jamdns: \(js)"
    }

    @Test("every name × type answers like Knot, over UDP with EDNS")
    func allNamesAllTypes() throws {
        var diffs: [String] = []
        for n in Self.names { for t in Self.types { if let d = try compare(n, t, edns: EDNS()) { diffs.append(d) } } }
        #expect(diffs.isEmpty, "\(diffs.count) differences:\n\(diffs.joined(separator: "\n"))")
    }

    @Test("every name × type answers like Knot with DO set, and over TCP")
    func allNamesDOAndTCP() throws {
        var diffs: [String] = []
        for n in Self.names {
            for t in Self.types {
                if let d = try compare(n, t, edns: EDNS(dnssecOK: true)) { diffs.append(d) }
                if let d = try compare(n, t, edns: EDNS(), tcp: true) { diffs.append(d) }
            }
        }
        #expect(diffs.isEmpty, "\(diffs.count) differences:\n\(diffs.joined(separator: "\n"))")
    }

    @Test("without EDNS: 512-byte limit and TC like Knot", arguments: ["big.example.test.", "many.example.test.", "example.test."])
    func noEDNS(name: String) throws {
        for t in [RRType.txt, .a, .mx, .ns] {
            let d = try compare(name, t, edns: nil)
            #expect(d == nil, "\(d ?? "")")
        }
    }

    @Test("over TCP, the truncated answers come whole", arguments: ["big.example.test.", "many.example.test."])
    func overTCP(name: String) throws {
        for t in [RRType.txt, .a] {
            let d = try compare(name, t, edns: nil, tcp: true)
            #expect(d == nil, "\(d ?? "")")
        }
    }
}

/// Edits applied by the running server in place (from the store's journal) must leave it answering exactly as
/// Knot does when it loads the resulting zone from scratch: removed names take their empty non-terminals with
/// them, new cuts occlude what is below them, a removed cut stops referring.
@Suite(.serialized) struct DifferentialAfterEditsTests {
    static let edits: [[String]] = [
        ["record", "rm", "a.b.c.ent"],                      // the only name under two empty non-terminals
        ["record", "add", "x.y.ent", "A", "192.0.2.91"],    // new empty non-terminal
        ["record", "add", "lab", "NS", "ns1.lab"],          // a new cut...
        ["record", "add", "ns1.lab", "A", "192.0.2.154"],   // ...its glue
        ["record", "add", "deep.lab", "A", "192.0.2.155"],  // ...and data it occludes
        ["record", "rm", "nodel", "NS"],                    // a cut removed
        ["record", "rm", "*.wild", "TXT"],                  // a wildcard loses a type
        ["record", "rm", "www"],                            // a CNAME replaced by an address
        ["record", "add", "www", "A", "192.0.2.2"],
        ["record", "set", "many", "A", "192.0.2.200", "192.0.2.201", "--ttl", "60"],  // an RRset with a new TTL
        ["record", "add", "@", "TXT", "second"],
    ]
    static let extraNames = ["x.y.ent.example.test.", "y.ent.example.test.", "lab.example.test.", "ns1.lab.example.test.",
                             "deep.lab.example.test.", "q.lab.example.test."]

    @Test("after eleven edits applied in place, every name × type answers like Knot loading the edited zone")
    func editsMatchKnot() throws {
        let zonesDir = Env.tempDir("editzones")
        Env.write(zonesDir + "/example.test.zone", Env.read(Env.root + "/Tests/Fixtures/example.test.zone"))
        let jam = try JamdnsServer(zones: zonesDir)
        defer { jam.child.stop() }
        for e in Self.edits {
            let (rc, out) = try jam.dnsctl(e + ["--zone", "example.test"])
            #expect(rc == 0, "\(e): \(out)")
        }
        // The last edit is served once the TXT shows up (the watcher applies the journal in commit order).
        var live = false
        for _ in 0..<100 where !live {
            live = DNSClient.ask("example.test.", .txt, port: jam.port)?.answers.count == 2
            if !live { usleep(50_000) }
        }
        #expect(live, "the edits were not served")
        let log = Env.read(jam.dir + "/jamdns.log")
        #expect(log.contains("zones updated") && !log.contains("zones reloaded"), "\(log)")

        let (rc, exported) = try jam.dnsctl(["zone", "export", "example.test"])
        #expect(rc == 0, "\(exported)")
        let edited = Env.tempDir("edited") + "/example.test.zone"
        Env.write(edited, exported)
        let knot = try KnotServer(zones: [("example.test.", edited)])
        defer { knot.child.stop() }
        var diffs: [String] = []
        for n in DifferentialTests.names + Self.extraNames where n.lowercased().hasSuffix("example.test.") {
            for t in DifferentialTests.types {
                if let d = DifferentialTests.compare(n, t, knot: knot.port, jamdns: jam.port, edns: EDNS()) { diffs.append(d) }
            }
        }
        #expect(diffs.isEmpty, "\(diffs.count) differences:\n\(diffs.joined(separator: "\n"))")
    }
}

/// Protocol edge cases, sent as raw packets to both servers; RCODE, flags and sections must match Knot's.
@Suite(.serialized) struct DifferentialEdgeTests {
    static func packet(id: UInt16 = 0x1234, flags: UInt16 = 0, qd: [(String, UInt16, UInt16)] = [("vs0.jamfox.dev.", 1, 1)],
                       an: UInt16 = 0, edns: EDNS? = EDNS(), extra: [UInt8] = []) -> [UInt8] {
        var m = Message(header: Header(id: id, flags: flags))
        m.questions = qd.map { Question(name: try! DNSName($0.0), type: RRType($0.1), qclass: RRClass($0.2)) }
        m.edns = edns
        var b = m.wireBytes()
        if an > 0 { b[7] = UInt8(an) }
        return b + extra
    }

    static let cases: [(String, [UInt8])] = [
        ("class CH", packet(qd: [("vs0.jamfox.dev.", 1, 3)])),
        ("class ANY", packet(qd: [("vs0.jamfox.dev.", 1, 255)])),
        ("class NONE", packet(qd: [("vs0.jamfox.dev.", 1, 254)])),
        ("opcode IQUERY", packet(flags: 1 << 11)),
        ("opcode STATUS", packet(flags: 2 << 11)),
        ("opcode 3", packet(flags: 3 << 11)),
        ("opcode UPDATE", packet(flags: 5 << 11)),
        ("no question", packet(qd: [])),
        ("two questions", packet(qd: [("vs0.jamfox.dev.", 1, 1), ("vs1.jamfox.dev.", 1, 1)])),
        ("EDNS version 1", { var e = EDNS(); e.version = 1; return packet(edns: e) }()),
        ("DO bit", packet(edns: EDNS(dnssecOK: true))),
        ("tiny EDNS payload", packet(edns: EDNS(udpPayloadSize: 100))),
        ("unknown EDNS option", packet(edns: EDNS(options: [EDNSOption(code: 65001, data: [1, 2, 3])]))),
        ("RD set", packet(flags: 0x0100)),
        ("CD and AD set", packet(flags: 0x0030)),
        ("out of zone", packet(qd: [("example.com.", 1, 1)])),
        ("root", packet(qd: [(".", 2, 1)])),
        ("AXFR over UDP", packet(qd: [("jamfox.dev.", 252, 1)])),
        ("TYPE0", packet(qd: [("vs0.jamfox.dev.", 0, 1)])),
        ("case 0x20", packet(qd: [("Vs0.jAmFoX.dEv.", 1, 1)])),
        ("apex ANY", packet(qd: [("jamfox.dev.", 255, 1)])),
    ]

    /// Where jamdns deliberately differs from Knot, and why; the test checks jamdns against this instead.
    static let deviations: [String: (rcode: RCode?, why: String)] = [
        // Knot drops QDCOUNT=2 silently; RFC 9619 §2 says FORMERR.
        "two questions": (.formErr, "RFC 9619"),
    ]

    @Test("edge cases answer like Knot", arguments: 0..<cases.count)
    func edge(index: Int) throws {
        let (label, q) = Self.cases[index]
        if let dev = Self.deviations[label] {
            let p = try DifferentialTests.peers.get()
            let j = try #require(DNSClient.udp(q, port: p.jam.port, timeoutMs: 1000).map { try Message.parse($0) })
            #expect(j.rcode == dev.rcode, "\(label): expected \(dev.rcode.map(\.description) ?? "drop") (\(dev.why))")
            return
        }
        let p = try DifferentialTests.peers.get()
        let k = DNSClient.udp(q, port: p.knot.port, timeoutMs: 1000)
        let j = DNSClient.udp(q, port: p.jam.port, timeoutMs: 1000)
        #expect((k == nil) == (j == nil), "\(label): knot answered \(k != nil), jamdns answered \(j != nil)")
        guard let k, let j else { return }
        let km = try Message.parse(k), jm = try Message.parse(j)
        #expect(DifferentialTests.Shape(km) == DifferentialTests.Shape(jm), "\(label)\n knot:   \(DifferentialTests.Shape(km))\n jamdns: \(DifferentialTests.Shape(jm))")
        #expect(km.header.rd == jm.header.rd && km.header.opcode == jm.header.opcode, "\(label): header flags differ")
        // Knot clears CD; RFC 4035 §3.1.6 (and NSD) copy it from the query. jamdns copies it.
        #expect(jm.header.cd == (q[3] & 0x10 != 0), "\(label): CD not copied (RFC 4035 §3.1.6)")
        #expect(km.questions.map(\.name.wire) == jm.questions.map(\.name.wire), "\(label): question (case) differs")
        #expect(km.edns?.dnssecOK == jm.edns?.dnssecOK, "\(label): DO differs")
    }

    @Test("malformed packets: both drop or both answer FORMERR", arguments: [
        [UInt8](repeating: 0, count: 5),  // shorter than a header
        [0x12, 0x34, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0],  // QR set: never answered
        [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x61],  // question name cut short
        [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C, 0, 1, 0, 1],  // self-pointer
        [0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0xFF],  // trailing byte
    ])
    func malformed(packet: [UInt8]) throws {
        let p = try DifferentialTests.peers.get()
        let k = DNSClient.udp(packet, port: p.knot.port, timeoutMs: 500)
        let j = DNSClient.udp(packet, port: p.jam.port, timeoutMs: 500)
        #expect((k == nil) == (j == nil), "knot answered \(k != nil), jamdns answered \(j != nil)")
        if let k, let j {
            #expect(k[3] & 0x0F == j[3] & 0x0F, "rcode knot \(k[3] & 0xF) jamdns \(j[3] & 0xF)")
        }
    }
}

import DNSWire
import Testing
@testable import DNSZone

/// RFC 2136 without a store: the forms an UPDATE may take, each prerequisite kind and its RCODE, and the
/// update rules of §3.4.2 (what is applied, what is silently ignored).
@Suite struct UpdateTests {
    static let zone = try! DNSName("lab.test.")

    /// A record with no RDATA: the prerequisite and delete forms.
    static func rr(_ name: String, _ type: RRType, _ cls: RRClass = .in, ttl: UInt32 = 300) -> ResourceRecord {
        ResourceRecord(name: try! DNSName(name), type: type, rrclass: cls, ttl: ttl, rdata: .unknown(type, []))
    }
    static func rd(_ name: String, _ type: RRType, _ rdata: RData, _ cls: RRClass = .in, ttl: UInt32 = 300) -> ResourceRecord {
        ResourceRecord(name: try! DNSName(name), type: type, rrclass: cls, ttl: ttl, rdata: rdata)
    }
    static func a(_ name: String, _ last: UInt8, _ cls: RRClass = .in, ttl: UInt32 = 300) -> ResourceRecord {
        rd(name, .a, .a(IPv4Address(192, 0, 2, last)), cls, ttl: ttl)
    }
    static func soa(_ serial: UInt32) -> ResourceRecord {
        rd("lab.test.", .soa, .soa(SOA(mname: try! DNSName("ns1.lab.test."), rname: try! DNSName("h.lab.test."), serial: serial,
                                       refresh: 3600, retry: 600, expire: 86400, minimum: 300)))
    }
    static let ns1 = rd("lab.test.", .ns, .ns(try! DNSName("ns1.lab.test.")))
    static let ns2 = rd("lab.test.", .ns, .ns(try! DNSName("ns2.lab.test.")))
    static let base = [soa(5), ns1, ns2, a("www.lab.test.", 80), a("www.lab.test.", 81), rd("alias.lab.test.", .cname, .cname(try! DNSName("www.lab.test.")))]

    static func message(prereqs: [ResourceRecord] = [], updates: [ResourceRecord] = [], zone: String = "lab.test.", type: RRType = .soa) -> Message {
        var m = Message()
        m.header.opcode = .update
        m.questions = [Question(name: try! DNSName(zone), type: type)]
        m.answers = prereqs
        m.authority = updates
        return m
    }

    static func lookup(_ records: [ResourceRecord]) -> (DNSName) -> [ResourceRecord] { { n in records.filter { $0.name == n } } }

    @Test("forms: one SOA-class zone, names inside it, TTL 0 and no RDATA where §2.4/§2.5 say; each break has its RCODE")
    func forms() throws {
        func rcode(_ m: Message) -> RCode? { do { _ = try Update.parse(m); return nil } catch { return error.rcode } }
        #expect(rcode(Self.message(type: .a)) == .formErr)
        #expect(rcode(Self.message(updates: [Self.a("x.lab.test.", 1)])) == nil)
        #expect(rcode(Self.message(updates: [Self.a("x.other.test.", 1)])) == .notZone)
        #expect(rcode(Self.message(prereqs: [Self.rr("x.other.test.", .any, .any, ttl: 0)])) == .notZone)
        #expect(rcode(Self.message(prereqs: [Self.rr("x.lab.test.", .a, .any, ttl: 5)])) == .formErr)
        #expect(rcode(Self.message(updates: [Self.rr("x.lab.test.", .a, .any, ttl: 5)])) == .formErr)
        #expect(rcode(Self.message(updates: [Self.rr("x.lab.test.", .axfr, .any, ttl: 0)])) == .formErr)
        #expect(rcode(Self.message(updates: [Self.rr("x.lab.test.", .any, .in)])) == .formErr)
        #expect(rcode(Self.message(updates: [Self.a("x.lab.test.", 1, RRClass(3))])) == .formErr)
        var two = Self.message()
        two.questions.append(two.questions[0])
        #expect(rcode(two) == .formErr)
        #expect(Update.Request(zone: Self.zone, prerequisites: [Self.a("p.lab.test.", 1)], updates: [Self.a("u.lab.test.", 2)]).names.map(\.description)
                == ["lab.test.", "p.lab.test.", "u.lab.test."])
    }

    @Test("prerequisites: name in use / not in use, RRset exists / does not, value-dependent exact match")
    func prerequisites() {
        let l = Self.lookup(Self.base)
        func check(_ p: [ResourceRecord]) -> RCode? { Update.check(p, records: l)?.rcode }
        #expect(check([Self.rr("www.lab.test.", .any, .any, ttl: 0)]) == nil)
        #expect(check([Self.rr("nope.lab.test.", .any, .any, ttl: 0)]) == .nxDomain)
        #expect(check([Self.rr("nope.lab.test.", .any, .none, ttl: 0)]) == nil)
        #expect(check([Self.rr("www.lab.test.", .any, .none, ttl: 0)]) == .yxDomain)
        #expect(check([Self.rr("www.lab.test.", .a, .any, ttl: 0)]) == nil)
        #expect(check([Self.rr("www.lab.test.", .aaaa, .any, ttl: 0)]) == .nxRRSet)
        #expect(check([Self.rr("www.lab.test.", .aaaa, .none, ttl: 0)]) == nil)
        #expect(check([Self.rr("www.lab.test.", .a, .none, ttl: 0)]) == .yxRRSet)
        // Value-dependent: both records, in any order; one of the two, or one more, is not the RRset.
        #expect(check([Self.a("www.lab.test.", 81, ttl: 0), Self.a("www.lab.test.", 80, ttl: 0)]) == nil)
        #expect(check([Self.a("www.lab.test.", 80, ttl: 0)]) == .nxRRSet)
        #expect(check([Self.a("www.lab.test.", 80, ttl: 0), Self.a("www.lab.test.", 81, ttl: 0), Self.a("www.lab.test.", 82, ttl: 0)]) == .nxRRSet)
    }

    @Test("updates: add, delete RRset, delete a name, delete one record; the apex SOA/NS and CNAME rules ignore what §3.4.2 says to")
    func apply() {
        func after(_ u: [ResourceRecord]) -> Set<String> {
            var r = Self.base
            Update.apply(u, zone: Self.zone, to: &r)
            return Set(r.map { "\($0.name) \($0.type) \($0.rdata.presentation)" })
        }
        let start = after([])
        #expect(after([Self.a("new.lab.test.", 9)]) == start.union(["new.lab.test. A 192.0.2.9"]))
        #expect(after([Self.a("www.lab.test.", 80)]) == start, "the same record again adds nothing")
        #expect(after([Self.rr("www.lab.test.", .a, .any, ttl: 0)]) == start.subtracting(["www.lab.test. A 192.0.2.80", "www.lab.test. A 192.0.2.81"]))
        #expect(after([Self.rr("www.lab.test.", .any, .any, ttl: 0)]) == start.subtracting(["www.lab.test. A 192.0.2.80", "www.lab.test. A 192.0.2.81"]))
        #expect(after([Self.a("www.lab.test.", 80, .none, ttl: 0)]) == start.subtracting(["www.lab.test. A 192.0.2.80"]))
        // The apex: its SOA and NS RRsets are never deleted, nor its last NS; a name delete keeps them.
        #expect(after([Self.rr("lab.test.", .ns, .any, ttl: 0), Self.rr("lab.test.", .soa, .any, ttl: 0)]) == start)
        #expect(after([Self.rr("lab.test.", .any, .any, ttl: 0)]) == start)
        let oneNS = after([Self.rd("lab.test.", .ns, .ns(try! DNSName("ns1.lab.test.")), .none, ttl: 0),
                           Self.rd("lab.test.", .ns, .ns(try! DNSName("ns2.lab.test.")), .none, ttl: 0)])
        #expect(oneNS == start.subtracting(["lab.test. NS ns1.lab.test."]), "the last NS stays")
        // SOA: replaced only by a newer serial.
        #expect(after([Self.soa(4)]) == start)
        #expect(after([Self.soa(6)]).contains { $0.hasPrefix("lab.test. SOA") && $0.contains(" 6 ") })
        // CNAME: no data beside it, no CNAME beside data; a CNAME replaces a CNAME.
        #expect(after([Self.a("alias.lab.test.", 1)]) == start)
        #expect(after([Self.rd("www.lab.test.", .cname, .cname(try! DNSName("x.lab.test.")))]) == start)
        #expect(after([Self.rd("alias.lab.test.", .cname, .cname(try! DNSName("x.lab.test.")))])
                == start.subtracting(["alias.lab.test. CNAME www.lab.test."]).union(["alias.lab.test. CNAME x.lab.test."]))
    }
}

import DNSServer
import DNSWire
import DNSZone

/// Micro-benchmarks of the query path, in ns/op, without sockets: parse, lookup, encode, and the whole
/// engine (what a UDP worker does on an answer-memo miss). Timing lives here, never in unit tests.

let zoneText = """
    $ORIGIN jamfox.dev.
    $TTL 3600
    @ SOA rpi0 hostmaster 1 3600 600 1209600 300
    @ NS rpi0
    @ A 192.168.10.80
    * A 192.168.10.80
    head A 192.168.10.10
    rpi0 A 192.168.10.53
    vs0 A 192.168.10.130
    vs1 A 192.168.10.131
    """
var parser = ZoneFileParser(text: zoneText, origin: nil)
var builder = ZoneBuilder(origin: try! DNSName("jamfox.dev."))
for r in try! parser.all() { builder.add(r.record) }
let catalog = Catalog(zones: [try! builder.build()], generation: 1)
let query = Message.query(try! DNSName("vs0.jamfox.dev."), .a, id: 1234, edns: EDNS()).wireBytes()
let wildQuery = Message.query(try! DNSName("grafana.jamfox.dev."), .a, id: 1234, edns: EDNS()).wireBytes()
let engine = QueryEngine()

func measure(_ label: String, iterations: Int = 300_000, _ body: () -> Void) {
    for _ in 0..<1000 { body() }
    let clock = ContinuousClock()
    var best = Duration.seconds(1000)
    for _ in 0..<5 {
        let t = clock.measure { for _ in 0..<iterations { body() } }
        best = min(best, t)
    }
    let ns = Double(best.components.seconds) * 1e9 + Double(best.components.attoseconds) / 1e9
    let per = ns / Double(iterations)
    let padded = label + String(repeating: " ", count: max(1, 34 - label.count))
    print("\(padded)\(Int(per.rounded())) ns/op")
}

var sink = 0
let qname = try! DNSName("vs0.jamfox.dev.")
measure("parse query") { sink &+= (try? Message.parse(query))?.questions.count ?? 0 }
measure("catalog.answer (exact name)") { sink &+= catalog.answer(qname, .a).answer.count }
let wild = try! DNSName("grafana.jamfox.dev.")
measure("catalog.answer (wildcard)") { sink &+= catalog.answer(wild, .a).answer.count }
var msg = try! Message.parse(query)
msg.header.qr = true
msg.answers = catalog.answer(qname, .a).answer
var w = WireWriter()
measure("encode response") { msg.write(into: &w, maxSize: 1232); sink &+= w.count }
let routes = RouteTable(catalog: catalog, forwardZones: [.root])
measure("routes.decide (exact name, resolver on)") { if case .answer(let a) = routes.decide(qname, .a, resolverAvailable: true) { sink &+= a.answer.count } }
measure("engine.respond (exact name)") { _ = engine.respond(to: query, transport: .udp, routes: routes, into: &w); sink &+= w.count }
measure("engine.respond (wildcard)") { _ = engine.respond(to: wildQuery, transport: .udp, routes: routes, into: &w); sink &+= w.count }
measure("DNSName hash") { var h = Hasher(); qname.hash(into: &h); sink &+= h.finalize() }
print("(checksum \(sink & 1))")

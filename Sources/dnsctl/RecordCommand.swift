#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DNSStore
import DNSWire
import DNSZone

struct RecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record", abstract: "List, add, remove and replace records.",
        discussion: "NAME is absolute (ends in '.') or relative to --zone, or written in full without the dot; '@' is the zone apex.",
        subcommands: [List.self, Add.self, Remove.self, Set.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the records of a zone, of one name, or of every zone.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "A zone or a name; nothing: every zone.") var target: String?
        @Option(name: .long, help: "Zone for relative names.") var zone: String?
        @Flag(name: .long, help: "Also show who changed each record last (an UPDATE's key, dnsctl, an import) and when.") var source = false

        func run() throws {
            let store = try options.open(readOnly: true)
            // Each record with the zone it was read from: its source is looked up in that zone.
            var rows: [(zone: DNSName, record: ResourceRecord)] = []
            if let target {
                let (name, owning) = try resolveName(target, zone: zone, store: store)
                // A zone's apex lists the zone; any other name only its own records (read through the index).
                rows = (name == owning ? try store.records(zone: owning) : try store.records(zone: owning, at: name)).map { (owning, $0) }
                if rows.isEmpty { throw Rejected("no records at \(name)") }
            } else {
                for z in try store.zones() { rows += try store.records(zone: z.name).map { (z.name, $0) } }
            }
            rows.sort { $0.record.name != $1.record.name ? $0.record.name < $1.record.name : $0.record.type < $1.record.type }
            var sources: [DNSName: [SourceKey: (source: String, at: Int64)]] = [:]
            if source {
                for (z, _) in rows where sources[z] == nil { sources[z] = try store.sources(zone: z) }
            }
            func by(_ row: (zone: DNSName, record: ResourceRecord)) -> (source: String, at: Int64)? { sources[row.zone]?[SourceKey(row.record)] }
            if options.json {
                say(JSON.array(rows.map { row in
                    guard source, case .object(var fields) = recordJSON(row.record) else { return recordJSON(row.record) }
                    let s = by(row)
                    fields.append(("source", s.map { .string($0.source) } ?? .null))
                    fields.append(("changed", s.map { .number($0.at) } ?? .null))
                    return .object(fields)
                }).text)
            } else if source {
                table(["NAME", "TTL", "TYPE", "DATA", "SOURCE", "CHANGED"], rows.map { row in
                    let r = row.record, s = by(row)
                    return [r.name.description, String(r.ttl), r.type.description, r.rdata.presentation, s?.source ?? "zone data", s.map { utcTime($0.at) } ?? "-"]
                })
            } else {
                table(["NAME", "TTL", "TYPE", "DATA"], rows.map { [$0.record.name.description, String($0.record.ttl), $0.record.type.description, $0.record.rdata.presentation] })
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add one record. The RRset keeps one TTL: --ttl sets it for the whole RRset; without it the record joins the RRset's TTL (or 3600).")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var type: String
        @Argument(parsing: .remaining, help: "RDATA in zone-file syntax, e.g. 192.168.10.80 or 10 mail.") var rdata: [String]
        @Option(name: .long) var ttl: UInt32?
        @Option(name: .long, help: "Zone for relative names.") var zone: String?

        func validate() throws {
            if rdata.isEmpty { throw ValidationError("missing RDATA for \(type)") }
            if let ttl, ttl > 0x7FFF_FFFF { throw ValidationError("--ttl must be 0-2147483647") }
        }

        func run() throws {
            let store = try options.open()
            let t = try parseType(type)
            let (owner, origin) = try resolveName(name, zone: zone, store: store)
            let rd = try parseRData(rdata.joined(separator: " "), type: t, origin: origin)
            let diff = try store.edit(zone: origin, names: [owner], by: editSource) { (records: inout [ResourceRecord]) throws(StoreError) in
                let existing = records.first { $0.name == owner && $0.type == t }
                if records.contains(where: { $0.name == owner && $0.type == t && $0.rdata == rd }) && ttl == nil {
                    throw StoreError(.exists, "\(owner) \(t) \(rd.presentation) already exists")
                }
                let newTTL = ttl ?? existing?.ttl ?? 3600
                for i in records.indices where records[i].name == owner && records[i].type == t { records[i].ttl = newTTL }
                records.removeAll { $0.name == owner && $0.type == t && $0.rdata == rd }
                records.append(ResourceRecord(name: owner, type: t, ttl: newTTL, rdata: rd))
            }
            describe(diff, json: options.json)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove the records of a name, of one type, or one record.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var type: String?
        @Argument(parsing: .remaining) var rdata: [String] = []
        @Option(name: .long, help: "Zone for relative names.") var zone: String?

        func run() throws {
            let store = try options.open()
            let t = try type.map(parseType)
            let (owner, origin) = try resolveName(name, zone: zone, store: store)
            if t == .soa { throw Rejected("the SOA of \(origin) cannot be removed: a zone always has one (remove the zone with 'dnsctl zone rm \(origin)', or change it with 'dnsctl record set @ SOA ...')") }
            let rd = try t.flatMap { ty in rdata.isEmpty ? nil : try parseRData(rdata.joined(separator: " "), type: ty, origin: origin) }
            let diff = try store.edit(zone: origin, names: [owner], by: editSource) { (records: inout [ResourceRecord]) throws(StoreError) in
                let before = records.count
                records.removeAll { r in
                    r.name == owner && (t == nil || r.type == t) && (rd == nil || r.rdata == rd)
                        && !(t == nil && r.type == .soa)  // "rm @" keeps the SOA; the zone checks say why if NS goes
                }
                if records.count == before { throw StoreError(.notFound, "no record matches \(owner)\(t.map { " \($0)" } ?? "")\(rdata.isEmpty ? "" : " " + rdata.joined(separator: " "))") }
            }
            describe(diff, json: options.json)
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace the RRset of NAME and TYPE with the given values (one argument per record; quote multi-field RDATA).")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String
        @Argument var type: String
        @Argument(help: "One RDATA per argument, e.g. 192.168.10.80 192.168.10.81 or \"10 mail\".") var rdata: [String]
        @Option(name: .long) var ttl: UInt32?
        @Option(name: .long, help: "Zone for relative names.") var zone: String?

        func validate() throws {
            if rdata.isEmpty { throw ValidationError("give at least one RDATA value") }
            if let ttl, ttl > 0x7FFF_FFFF { throw ValidationError("--ttl must be 0-2147483647") }
        }

        func run() throws {
            let store = try options.open()
            let t = try parseType(type)
            let (owner, origin) = try resolveName(name, zone: zone, store: store)
            let values = try rdata.map { try parseRData($0, type: t, origin: origin) }
            let diff = try store.edit(zone: origin, names: [owner], by: editSource) { (records: inout [ResourceRecord]) in
                let oldTTL = records.first { $0.name == owner && $0.type == t }?.ttl
                records.removeAll { $0.name == owner && $0.type == t }
                for v in values { records.append(ResourceRecord(name: owner, type: t, ttl: ttl ?? oldTTL ?? 3600, rdata: v)) }
            }
            describe(diff, json: options.json)
        }
    }
}

/// What a dnsctl edit's records say changed them: dnsctl and the user who ran it.
var editSource: String {
    guard let pw = getpwuid(getuid()), let name = pw.pointee.pw_name else { return "dnsctl" }
    return "dnsctl (\(String(cString: name)))"
}

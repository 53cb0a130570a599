import ArgumentParser
import DNSStore
import DNSWire
import DNSZone

struct ZoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone", abstract: "List, create, remove, import and export zones.",
        subcommands: [List.self, Add.self, Set_.self, Remove.self, Import.self, Export.self, Refresh.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the zones: record count, serial, fallthrough mode, role, and for a secondary its primaries and refresh times.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            let store = try options.open(readOnly: true)
            let zones = try store.zones()
            let roles = try store.zoneRoles()
            var states: [DNSName: SecondaryState] = [:]
            for s in try store.secondaryStates() { states[s.zone] = s }
            // A secondary configured but not transferred yet has state and no zone row: listed too.
            let pending = states.keys.filter { z in !zones.contains { $0.name == z } }.sorted()
            struct Row { var name: DNSName, records: Int?, serial: UInt32?, mode: String, role: ZoneRole, state: SecondaryState? }
            var rows = zones.map { Row(name: $0.name, records: $0.records, serial: $0.serial, mode: $0.fallthroughMode.description,
                                       role: roles[$0.name] ?? .primary, state: states[$0.name]) }
            rows += pending.map { Row(name: $0, records: nil, serial: nil, mode: "off", role: .secondary, state: states[$0]) }
            func role(_ r: Row) -> String { r.role == .secondary ? "secondary" : "primary" }
            if options.json {
                say(JSON.array(rows.map { r in
                    var fields: [(String, JSON)] = [("name", .string(r.name.description)), ("records", r.records.map { .number(Int64($0)) } ?? .null),
                                                    ("serial", r.serial.map { .number(Int64($0)) } ?? .null), ("fallthrough", .string(r.mode)),
                                                    ("role", .string(role(r)))]
                    if let st = r.state {
                        fields += [("primaries", .string(st.primaries)), ("last_refresh", st.lastSuccess.map { .number($0) } ?? .null),
                                   ("next_refresh", st.nextRefresh.map { .number($0) } ?? .null), ("failures", .number(Int64(st.failures))),
                                   ("last_error", .string(st.lastError))]
                    }
                    return .object(fields)
                }).text)
            } else {
                // The refresh columns only when some zone is a secondary: a primary-only store keeps a narrow table.
                let secondary = rows.contains { $0.role == .secondary }
                table(["ZONE", "RECORDS", "SERIAL", "FALLTHROUGH", "ROLE"] + (secondary ? ["PRIMARIES", "LAST REFRESH", "NEXT REFRESH"] : []), rows.map { r in
                    [r.name.description, r.records.map(String.init) ?? "-", r.serial.map(String.init) ?? "-", r.mode, role(r)]
                        + (secondary ? [r.state?.primaries ?? "-", r.state?.lastSuccess.map(utcTime) ?? "-", r.state?.nextRefresh.map(utcTime) ?? "-"] : [])
                })
                for r in rows where (r.state?.failures ?? 0) > 0 {
                    note("\(r.name): \(r.state!.failures) refresh failures in a row; last: \(r.state!.lastError)")
                }
            }
        }
    }

    struct Refresh: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask the running server to check a secondary zone's primaries now (as a NOTIFY would).")
        @OptionGroup var socket: CacheCommand.SocketOption
        @Argument(help: "A secondary zone, e.g. jamfox.dev.") var name: String
        func run() throws { try ask(socket.path, "refresh " + name, json: socket.store.json) }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty zone with an SOA and one NS record.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Zone name, e.g. lab.example.") var name: String
        @Option(name: .long, help: "Primary name server (SOA MNAME and NS); default ns1.<zone>.") var ns: String?
        @Option(name: .long, help: "Hostmaster mailbox in DNS form; default hostmaster.<zone>.") var hostmaster: String?
        @Option(name: .long, help: "What the zone does with names and types it has no data for: off (answer NXDOMAIN/NODATA, the default), names, or types (resolve them upstream, as dnsmasq does).")
        var `fallthrough`: FallthroughArgument = .off

        func run() throws {
            let origin = try absolute(name)
            let store = try options.open(create: true)
            let primary = try ns.map { try DNSName($0, origin: origin) }
            let diff = try store.addZone(origin, primary: primary, hostmaster: try hostmaster.map { try DNSName($0, origin: origin) },
                                         fallthroughMode: `fallthrough`.mode)
            if primary == nil && !options.json {
                note("no --ns given: the zone's name server is \(ZoneStore.defaultPrimary(origin)) (SOA MNAME and NS); give it an address with 'dnsctl record add ns1 A ADDRESS' or pass --ns")
            }
            describe(diff, json: options.json)
        }
    }

    struct Set_: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Change a zone's settings.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Zone name.") var name: String
        @Option(name: .long, help: "off (authoritative: NXDOMAIN and NODATA from the zone), names (names the zone lacks are resolved upstream), types (names and types it lacks are resolved upstream, as dnsmasq does).")
        var `fallthrough`: FallthroughArgument

        func run() throws {
            let origin = try absolute(name)
            let old = try options.open().setFallthrough(origin, `fallthrough`.mode)
            if options.json {
                say(JSON.object([("zone", .string(origin.description)), ("fallthrough", .string(`fallthrough`.mode.description)), ("was", .string(old.description))]).text)
            } else {
                say(old == `fallthrough`.mode ? "\(origin) fallthrough is already \(old)" : "\(origin) fallthrough \(old) -> \(`fallthrough`.mode)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a zone and all its records.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            let origin = try absolute(name)
            try options.open().removeZone(origin)
            if options.json { say(JSON.object([("removed", .string(origin.description))]).text) } else { say("removed zone \(origin)") }
        }
    }

    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace a zone's contents with a zone file, atomically. Importing the same file again changes nothing.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Zone file (RFC 1035 master format).") var file: String
        @Option(name: .long, help: "Zone name; default: the file name without .zone.") var zone: String?
        @Flag(name: .long, help: "Print the difference without changing anything.") var dryRun = false

        func run() throws {
            // The file is parsed on a second thread while the store writes what was parsed before it.
            let (origin, records) = try ZoneFiles.producer(path: file, origin: try zone.map { try absolute($0) })
            let diff = try options.withCreatedStore(keep: !dryRun) { try $0.importZone(origin, dryRun: dryRun, producing: records) }
            if dryRun && !options.json { say("dry run: nothing written") }
            describe(diff, json: options.json)
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a zone as a canonical zone file.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            let origin = try absolute(name)
            let records = try options.open(readOnly: true).records(zone: origin)
            let text = ZoneFileWriter.write(records, origin: origin)
            if options.json {
                say(JSON.object([("zone", .string(origin.description)), ("records", .array(records.map(recordJSON)))]).text)
            } else {
                _ = text.withCString { write(1, $0, strlen($0)) }
            }
        }
    }
}

import Glibc

enum FallthroughArgument: String, ExpressibleByArgument, CaseIterable {
    case off, names, types
    var mode: Fallthrough { Fallthrough(text: rawValue) ?? .off }
}

func absolute(_ text: String) throws -> DNSName {
    do { return try DNSName(text.hasSuffix(".") ? text : text + ".") } catch { throw ValidationError("bad zone name '\(text)': \(error.context)") }
}

/// Unix seconds as UTC, "2026-12-03 12:45:24Z".
func utcTime(_ t: Int64) -> String {
    var tt = time_t(t)
    var tmv = tm()
    gmtime_r(&tt, &tmv)
    func p(_ v: Int32, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
    return "\(p(tmv.tm_year + 1900, 4))-\(p(tmv.tm_mon + 1, 2))-\(p(tmv.tm_mday, 2)) \(p(tmv.tm_hour, 2)):\(p(tmv.tm_min, 2)):\(p(tmv.tm_sec, 2))Z"
}

import ArgumentParser
import DNSStore
import DNSWire
import DNSZone

struct ZoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone", abstract: "List, create, remove, import and export zones.",
        subcommands: [List.self, Add.self, Set_.self, Remove.self, Import.self, Export.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the zones with their record counts, serials and fallthrough modes.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            let zones = try options.open(readOnly: true).zones()
            if options.json {
                say(JSON.array(zones.map {
                    .object([("name", .string($0.name.description)), ("records", .number(Int64($0.records))), ("serial", .number(Int64($0.serial))),
                             ("fallthrough", .string($0.fallthroughMode.description))])
                }).text)
            } else {
                table(["ZONE", "RECORDS", "SERIAL", "FALLTHROUGH"], zones.map { [$0.name.description, String($0.records), String($0.serial), $0.fallthroughMode.description] })
            }
        }
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
            let origin = try zone.map { try absolute($0) }
            let (o, records) = try Self.records(file, origin: origin)
            let diff = try options.open(create: true).importZone(o, records: records, dryRun: dryRun)
            if dryRun && !options.json { say("dry run: nothing written") }
            describe(diff, json: options.json)
        }

        /// The file's records, each owner checked against the zone (naming file and line). The parsed form
        /// (with file and line per record) is dropped here, before the import holds the zone.
        static func records(_ file: String, origin: DNSName?) throws -> (DNSName, [ResourceRecord]) {
            let (o, parsed) = try ZoneFiles.parse(path: file, origin: origin)
            for p in parsed where !p.record.name.isSubdomain(of: o) {
                throw Rejected("\(p.file):\(p.line): owner \(p.record.name) is outside zone \(o); fix the name or $ORIGIN")
            }
            return (o, parsed.map(\.record))
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

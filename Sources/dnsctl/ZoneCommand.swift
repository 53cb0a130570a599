import ArgumentParser
import DNSStore
import DNSWire
import DNSZone

struct ZoneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "zone", abstract: "List, create, remove, import and export zones.",
        subcommands: [List.self, Add.self, Remove.self, Import.self, Export.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the zones with their record counts and serials.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            let zones = try options.open().zones()
            if options.json {
                say(JSON.array(zones.map { .object([("name", .string($0.name.description)), ("records", .number(Int64($0.records))), ("serial", .number(Int64($0.serial)))]) }).text)
            } else {
                table(["ZONE", "RECORDS", "SERIAL"], zones.map { [$0.name.description, String($0.records), String($0.serial)] })
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an empty zone with an SOA and one NS record.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Zone name, e.g. lab.example.") var name: String
        @Option(name: .long, help: "Primary name server (SOA MNAME and NS); default ns1.<zone>.") var ns: String?
        @Option(name: .long, help: "Hostmaster mailbox in DNS form; default hostmaster.<zone>.") var hostmaster: String?

        func run() throws {
            let origin = try absolute(name)
            let store = try options.open()
            let diff = try store.addZone(origin, primary: try ns.map { try DNSName($0, origin: origin) }, hostmaster: try hostmaster.map { try DNSName($0, origin: origin) })
            describe(diff, json: options.json)
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
            let (o, parsed) = try ZoneFiles.parse(path: file, origin: origin)
            for p in parsed where !p.record.name.isSubdomain(of: o) {
                throw Rejected("\(p.file):\(p.line): owner \(p.record.name) is outside zone \(o); fix the name or $ORIGIN")
            }
            let diff = try options.open().importZone(o, records: parsed.map(\.record), dryRun: dryRun)
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
            let records = try options.open().records(zone: origin)
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

func absolute(_ text: String) throws -> DNSName {
    do { return try DNSName(text.hasSuffix(".") ? text : text + ".") } catch { throw ValidationError("bad zone name '\(text)': \(error.context)") }
}

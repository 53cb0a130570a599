import ArgumentParser
import DNSStore
import DNSWire

/// `dnsctl upstream`: names inside the lab's zones that are resolved publicly instead (dnsmasq's
/// `server=/docs.jamfox.dev/#`). Live in the running server within a second, like record edits.
struct UpstreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream", abstract: "Names inside the served zones to resolve upstream instead (and all names below them).",
        subcommands: [List.self, Add.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the names resolved upstream.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            let names = try options.open(readOnly: true).upstreamNames()
            if options.json {
                say(JSON.array(names.map { .string($0.description) }).text)
            } else {
                table(["RESOLVED UPSTREAM"], names.map { [$0.description] })
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resolve NAME (and below) upstream instead of from the zone.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            let store = try options.open()
            let (n, _) = try resolveName(name, zone: nil, store: store)
            try store.addUpstreamName(n)
            // A name's own records beat the mark for their types (as in dnsmasq): say so now, not at query time.
            let own = try store.zone(containing: n).map { try store.records(zone: $0).filter { $0.name == n } } ?? []
            let types = Set(own.map(\.type)).sorted().map(\.description)
            if options.json {
                say(JSON.object([("added", .string(n.description)), ("own_types", .array(types.map { .string($0) }))]).text)
            } else {
                say("\(n) is now resolved upstream")
                if !types.isEmpty { say("note: \(n) has records of its own (\(types.joined(separator: ", "))): they still answer those types; other types and names below it go upstream") }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Answer NAME from the zone again.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            let store = try options.open()
            let (n, _) = try resolveName(name, zone: nil, store: store)
            try store.removeUpstreamName(n)
            if options.json { say(JSON.object([("removed", .string(n.description))]).text) } else { say("\(n) is answered from the zone again") }
        }
    }
}

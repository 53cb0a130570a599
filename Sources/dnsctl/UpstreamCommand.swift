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
            if options.json { say(JSON.object([("added", .string(n.description))]).text) } else { say("\(n) is now resolved upstream") }
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

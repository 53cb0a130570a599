import ArgumentParser
import DNSStore

/// `dnsctl backup FILE` / `dnsctl restore FILE`: the whole store, consistent while the server runs.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Write a consistent copy of the whole store to FILE (mode 0600; never overwrites). Safe while jamdns runs.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The backup file to create.") var file: String

    func run() throws {
        let store = try options.open(readOnly: false)
        try store.backup(to: file)
        let zones = try store.zones()
        if options.json {
            say(JSON.object([("backup", .string(file)), ("zones", .array(zones.map { .string($0.name.description) }))]).text)
        } else {
            say("backed up \(zones.count) zone(s) (\(zones.map(\.name.description).joined(separator: ", "))) to \(file)")
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace the whole store with a backup, after checking it (integrity, schema, every zone loads). The running server picks it up like any edit.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "A file written by 'dnsctl backup'.") var file: String

    func run() throws {
        let store = try options.open(create: true)
        let zones = try store.restore(from: file)
        if options.json {
            say(JSON.object([("restored", .string(file)), ("zones", .array(zones.map { .object([("name", .string($0.name.description)), ("serial", .number(Int64($0.serial)))]) }))]).text)
        } else {
            say("restored \(zones.count) zone(s) from \(file): " + zones.map { "\($0.name) serial \($0.serial)" }.joined(separator: ", "))
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DNSStore
import DNSWire
import Importers

/// `dnsctl import hosts|ansible-inventory|dnsmasq FILE`: bring an existing setup into the store. Each import
/// owns the records it creates (per source file): running it again adds what the file gained and removes
/// only what it created and the file dropped. Hand-made records are never touched.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import records from a hosts file, an Ansible inventory or a dnsmasq config.",
        subcommands: [Hosts.self, Ansible.self, Dnsmasq.self])

    struct Common: ParsableArguments {
        @Argument(help: "The file to import.") var file: String
        @Option(name: .long, help: "Zone the names go into (default: the only zone in the store).") var zone: String?
        @Option(name: .long, help: "TTL of new records (hosts and inventory; default 3600).") var ttl: UInt32 = 3600
        @Flag(name: .long, help: "Print the difference without changing anything.") var dryRun = false

        func origin(_ store: ZoneStore) throws -> DNSName {
            if let zone { return try absolute(zone) }
            let zones = try store.zones()
            guard zones.count == 1 else {
                throw Rejected(zones.isEmpty ? "the store has no zone: create one with 'dnsctl zone add NAME'" : "several zones: say which with --zone")
            }
            return zones[0].name
        }

        func text() throws -> String { String(decoding: try ZoneFiles.read(file), as: UTF8.self) }

        /// The source key the ownership is recorded under: the file's real path, so a rerun from another
        /// directory is the same source.
        func source(_ kind: String) -> String {
            guard let r = realpath(file, nil) else { return "\(kind):\(file)" }
            defer { free(r) }
            return "\(kind):\(String(cString: r))"
        }
    }

    /// Reads the file, parses it for the zone, and syncs the zone with the result.
    static func run(_ common: Common, _ options: GlobalOptions, kind: String, parse: (String, DNSName) -> ImportResult) throws {
        let store = try options.open()
        let origin = try common.origin(store)
        try apply(parse(try common.text(), origin), source: common.source(kind), common: common, options: options, store: store, origin: origin)
    }

    static func apply(_ result: ImportResult, source: String, common: Common, options: GlobalOptions, store: ZoneStore, origin: DNSName) throws {
        let diff = try store.syncImport(source: source, zone: origin, records: result.records, dryRun: common.dryRun)
        if common.dryRun && !options.json { say("dry run: nothing written") }
        describe(diff, json: options.json)
        if !result.notes.isEmpty {
            let lines = result.notes.map(\.description)
            if options.json {
                say(JSON.object([("not_mapped", .array(lines.map { .string($0) }))]).text)
            } else {
                say("not mapped (\(lines.count)):")
                for l in lines { say("  \(l)") }
            }
        }
    }

    struct Hosts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Import a hosts file (ADDRESS NAME [ALIAS...]; several addresses per name).")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var common: Common

        func run() throws {
            try ImportCommand.run(common, options, kind: "hosts") { HostsFile.parse($0, file: common.file, zone: $1, ttl: common.ttl) }
        }
    }

    struct Ansible: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ansible-inventory",
            abstract: "Import an Ansible INI inventory: every host with ansible_host= becomes <host>.<zone>.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var common: Common

        func run() throws {
            try ImportCommand.run(common, options, kind: "ansible") { AnsibleInventory.parse($0, file: common.file, zone: $1, ttl: common.ttl) }
        }
    }

    struct Dnsmasq: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import a dnsmasq config: local records into the zone, forwarding and switches as a jamdns.toml fragment.",
            discussion: "The fragment is printed (or written with --config-out); merge it into /etc/jamdns/jamdns.toml and run 'systemctl reload jamdns'. Lines with no equivalent are listed with the reason.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var common: Common
        @Option(name: .long, help: "Write the config fragment to this file instead of printing it (never overwrites).") var configOut: String?

        func run() throws {
            let store = try options.open()
            let origin = try common.origin(store)
            let m = DnsmasqConfig.parse(try common.text(), file: common.file, zone: origin) { path in
                (try? ZoneFiles.read(path)).map { String(decoding: $0, as: UTF8.self) }
            }
            try ImportCommand.apply(m.result, source: common.source("dnsmasq"), common: common, options: options, store: store, origin: origin)
            for name in m.resolvedUpstream where !common.dryRun {
                do {
                    try store.addUpstreamName(name)
                    say("resolved upstream: \(name)")
                } catch {
                    if error.code != .exists { throw error }  // already resolved upstream: a rerun
                }
            }
            if let out = configOut {
                guard !common.dryRun else { return }
                guard let f = fopen(out, "wx") else { throw Rejected("cannot create \(out): \(String(cString: strerror(errno))) (it is never overwritten)") }
                fputs(m.config, f)
                fclose(f)
                say("config fragment written to \(out)")
            } else if !options.json {
                say("")
                say(m.config)
            }
        }
    }
}

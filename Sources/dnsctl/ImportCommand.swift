#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import DNSStore
import DNSWire
import DNSZone
import Importers

/// `dnsctl import hosts|ansible-inventory|dnsmasq FILE`: bring an existing setup into the store. Each import
/// owns the records it creates (per source file): running it again adds what the file gained and removes
/// only what it created and the file dropped. Hand-made records are never touched. Everything an import
/// changes (zones it creates, modes, records, names resolved upstream) is one transaction.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Import records from a hosts file, an Ansible inventory or a dnsmasq config.",
        subcommands: [Hosts.self, Ansible.self, Dnsmasq.self])

    struct Common: ParsableArguments {
        @Argument(help: "The file to import.") var file: String
        @Option(name: .long, help: "Zone the names go into, created when missing (default: the only zone in the store; dnsmasq: the zone its names are under).") var zone: String?
        @Option(name: .long, help: "TTL of new records (hosts and inventory; default 3600; dnsmasq imports keep dnsmasq's: local-ttl, else 0).") var ttl: UInt32 = 3600
        @Flag(name: .long, help: "Print the difference without changing anything.") var dryRun = false

        /// The zone to import into: --zone, else what the file itself says (`inferred`), else the only zone.
        func origin(_ store: ZoneStore, inferred: DNSName? = nil) throws -> DNSName {
            if let zone { return try absolute(zone) }
            if let inferred { return inferred }
            let zones = try store.zones()
            guard zones.count == 1 else {
                throw Rejected(zones.isEmpty ? "the store has no zone and \(file) does not say which: pass --zone NAME (it is created)" : "several zones: say which with --zone")
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
        let text = try common.text()
        let store = try options.open(create: true)
        let origin = try common.origin(store)
        let result = parse(text, origin)
        let outcome = try store.applyImport(source: common.source(kind), zones: [ImportZone(name: origin, records: result.records)], dryRun: common.dryRun)
        report(outcome, notes: result.notes, common: common, options: options)
    }

    /// Prints what an import did: one JSON document with `--json`, else lines for people.
    static func report(_ outcome: ImportOutcome, notes: [ImportNote], extra: [(String, JSON)] = [], text: [String] = [],
                       common: Common, options: GlobalOptions) {
        let lines = notes.map(\.description)
        if options.json {
            say(JSON.object([
                ("dry_run", .bool(common.dryRun)),
                ("created_zones", .array(outcome.created.map { .string($0.description) })),
                ("fallthrough_changed", .array(outcome.fallthroughChanged.map { .object([("zone", .string($0.zone.description)), ("from", .string($0.from.description)), ("to", .string($0.to.description))]) })),
                ("zones", .array(outcome.diffs.map(diffJSON))),
                ("resolved_upstream_added", .array(outcome.upstreamAdded.map { .string($0.description) })),
                ("not_mapped", .array(lines.map { .string($0) })),
            ] + extra).text)
            return
        }
        if common.dryRun { say("dry run: nothing written") }
        for t in text { say(t) }
        for z in outcome.created { say("created zone \(z)") }
        for c in outcome.fallthroughChanged { say("\(c.zone) fallthrough \(c.from) -> \(c.to)") }
        for d in outcome.diffs { describe(d, json: false) }
        for n in outcome.upstreamAdded { say("resolved upstream: \(n)") }
        if !lines.isEmpty {
            say("not mapped (\(lines.count)):")
            for l in lines { say("  \(l)") }
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
            abstract: "Import a dnsmasq config: local records into the zone (created when missing) and PTRs into its reverse zones, forwarding and switches as a jamdns.toml fragment.",
            discussion: "The zone falls through (resolves upstream what it has no data for) unless the config has local=/zone/, as dnsmasq did. The fragment is printed (or written with --config-out); merge it into /etc/jamdns/jamdns.toml and run 'systemctl reload jamdns'. Lines with no equivalent are listed with the reason.")
        @OptionGroup var options: GlobalOptions
        @OptionGroup var common: Common
        @Option(name: .long, help: "Write the config fragment to this file instead of printing it (never overwrites).") var configOut: String?

        func run() throws {
            let text = try common.text()
            let given = try common.zone.map { try absolute($0) }
            let m = DnsmasqConfig.parse(text, file: common.file, zone: given) { path in
                (try? ZoneFiles.read(path)).map { String(decoding: $0, as: UTF8.self) }
            }
            // Everything that can fail comes before the first write: the fragment's file is created (exclusively)
            // first and removed again if the store refuses the import.
            var fragment: UnsafeMutablePointer<FILE>?
            if let out = configOut, !common.dryRun {
                guard let f = fopen(out, "wx") else {
                    throw Rejected("cannot create \(out): \(String(cString: strerror(errno))) (it is never overwritten: remove it or pick another name); nothing was changed")
                }
                fragment = f
            }
            let outcome: ImportOutcome
            do {
                let store = try options.open(create: true)
                let origin = try common.origin(store, inferred: m.zone)
                let ns = try store.zones().contains { $0.name == origin } ? nil : ZoneStore.defaultPrimary(origin)
                var zones = [ImportZone(name: origin, records: m.result.records.filter { $0.name.isSubdomain(of: origin) },
                                        fallthroughMode: m.zone == nil ? nil : m.fallthroughMode)]
                for r in m.reverseZones where r != origin {
                    zones.append(ImportZone(name: r, records: m.result.records.filter { $0.name.isSubdomain(of: r) }, fallthroughMode: .types,
                                            primary: ns ?? ZoneStore.defaultPrimary(origin)))
                }
                outcome = try store.applyImport(source: common.source("dnsmasq"), zones: zones, upstreamNames: m.resolvedUpstream, dryRun: common.dryRun)
            } catch {
                if let f = fragment, let out = configOut {
                    fclose(f)
                    unlink(out)
                }
                throw error
            }
            var lines = ["zone \(m.zone?.description ?? "?"): \(m.zoneReason)"]
            if m.zone != nil { lines.append("fallthrough \(m.fallthroughMode): \(m.fallthroughReason)") }
            if !m.reverseZones.isEmpty { lines.append("reverse zones for the hosts-file and host-record addresses (fallthrough types): \(m.reverseZones.map(\.description).joined(separator: ", "))") }
            lines += m.overlaps.map { "overlap: " + $0 }
            if let f = fragment, let out = configOut {
                fputs(m.config, f)
                fclose(f)
                lines.append("config fragment written to \(out)")
            }
            ImportCommand.report(outcome, notes: m.result.notes, extra: [
                ("zone", m.zone.map { .string($0.description) } ?? .null), ("zone_reason", .string(m.zoneReason)),
                ("fallthrough", .string(m.fallthroughMode.description)), ("fallthrough_reason", .string(m.fallthroughReason)),
                ("reverse_zones", .array(m.reverseZones.map { .string($0.description) })),
                ("overlaps", .array(m.overlaps.map { .string($0) })),
                ("config", configOut == nil ? .string(m.config) : .null),
            ], text: lines, common: common, options: options)
            if configOut == nil && !options.json {
                say("")
                say(m.config)
            }
        }
    }
}

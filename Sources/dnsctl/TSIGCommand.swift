import ArgumentParser
import DNSStore
import DNSTSIG
import DNSWire

/// `dnsctl tsig`: the shared keys zone transfers, NOTIFY and dynamic updates are signed with (RFC 8945).
/// A secret is shown once, when `add` makes it; `list` and every error name keys, never secrets.
struct TSIGCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tsig", abstract: "TSIG keys for zone transfers, NOTIFY and dynamic updates.",
        subcommands: [List.self, Add.self, Remove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keys: names and algorithms, never secrets.")
        @OptionGroup var options: GlobalOptions

        func run() throws {
            let keys = try options.open(readOnly: true).tsigKeys()
            if options.json {
                say(JSON.array(keys.map { .object([("name", .string($0.name.description)), ("algorithm", .string($0.algorithm.mnemonic))]) }).text)
            } else {
                table(["KEY", "ALGORITHM", "SECRET BYTES"], keys.map { [$0.name.description, $0.algorithm.mnemonic, "\($0.secretLength)"] })
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key with a random secret (or one read from a file) and print it once, for the peers' configs.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Key name, e.g. transfer.jamfox.dev (a domain name, as RFC 8945 names keys).") var name: String
        @Option(name: .long, help: "hmac-sha256 (default), hmac-sha384, hmac-sha512, hmac-sha224, hmac-sha1, or hmac-md5 for old peers.")
        var algorithm = "hmac-sha256"
        @Option(name: .long, help: "Take the secret from this file (base64, or a key clause with secret \"...\"): a key another server made.")
        var secretFile: String?

        func run() throws {
            let n = try absolute(name)
            guard let alg = TSIGAlgorithm(mnemonic: algorithm) else {
                throw ValidationError("unknown TSIG algorithm '\(algorithm)' (use \(TSIGAlgorithm.all.map(\.mnemonic).joined(separator: ", ")))")
            }
            let key: TSIGKey
            if let secretFile {
                let text = String(decoding: try ZoneFiles.read(secretFile), as: UTF8.self)
                // The file's name may be said; what it holds may not, even when it does not decode.
                guard let secret = Self.secret(in: text) else { throw Rejected("\(secretFile) holds no base64 secret (nor a key clause with secret \"...\")") }
                guard secret.count >= 16 else { throw Rejected("the secret in \(secretFile) is \(secret.count) bytes; RFC 8945 §6 asks for at least half the MAC length, and jamdns for 16 bytes") }
                key = TSIGKey(name: n, algorithm: alg, secret: secret)
            } else {
                guard let k = TSIGKey.generate(name: n, algorithm: alg) else { throw Rejected("\(TSIGAlgorithm.cryptoUnavailable ?? "OpenSSL's random generator failed"); no key was made") }
                key = k
            }
            try options.open(create: true).addTSIGKey(key)
            if options.json {
                say(JSON.object([("name", .string(n.description)), ("algorithm", .string(alg.mnemonic)), ("secret", .string(key.base64Secret))]).text)
            } else {
                say(Self.clauses(key))
            }
        }

        /// The base64 secret of a key file: a `secret "..."` clause (BIND, nsupdate -k, Kea) or the text alone.
        static func secret(in text: String) -> [UInt8]? {
            if let r = text.firstRange(of: "secret") {
                let rest = text[r.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == ":" }
                let quoted = rest.first == "\"" ? rest.dropFirst().prefix { $0 != "\"" } : rest.prefix { !$0.isWhitespace && $0 != ";" }
                return TSIGKey.secret(base64: String(quoted))
            }
            return TSIGKey.secret(base64: text)
        }

        /// The key in the forms its peers read: a BIND/nsupdate/knsupdate key clause, Knot's `key:` entry, Kea's
        /// D2 `tsig-keys` entry (algorithm names in capitals, as Kea spells them).
        static func clauses(_ k: TSIGKey) -> String {
            let name = k.name.description.hasSuffix(".") ? String(k.name.description.dropLast()) : k.name.description
            return """
                # The secret is shown this once; jamdns keeps it in its store. Give it to the peers through a file,
                # not a command line (ps shows those): nsupdate -k FILE, knsupdate -k FILE.
                key "\(name)" {
                    algorithm \(k.algorithm.mnemonic);
                    secret "\(k.base64Secret)";
                };
                # knot.conf:
                # key:
                #   - id: \(name)
                #     algorithm: \(k.algorithm.mnemonic)
                #     secret: \(k.base64Secret)
                # kea-dhcp-ddns.conf, in "DhcpDdns": "tsig-keys": [
                #   { "name": "\(name)", "algorithm": "\(k.algorithm.mnemonic.uppercased())", "secret": "\(k.base64Secret)" } ]
                """
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a key; peers signing with it are refused from then on.")
        @OptionGroup var options: GlobalOptions
        @Argument var name: String

        func run() throws {
            let n = try absolute(name)
            try options.open().removeTSIGKey(n)
            if options.json { say(JSON.object([("removed", .string(n.description))]).text) } else { say("TSIG key \(n) removed") }
        }
    }
}

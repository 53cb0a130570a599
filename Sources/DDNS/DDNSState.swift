#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials

/// What was pushed, when, and the last error, per provider, name and family; persisted across restarts so an
/// unchanged address makes no API call after a restart either.
public struct DDNSState: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var value: String?
        public var pushedAt: Int64?
        public var lastAttemptAt: Int64?
        public var lastError: String?
        public var failures: Int = 0
        /// Unix time before which no new attempt is made (backoff, Retry-After, auth errors).
        public var nextAttemptAt: Int64 = 0
        /// Unix time of the last cycle that found the provider right or made it right (metrics).
        public var lastSuccessAt: Int64?
        /// Failures since the state file was created, and whether the last one was HTTP 429 (metrics).
        public var failuresTotal: Int?
        public var rateLimited: Bool?
        /// The provider setup's fingerprint (config and secret, hashed) at the last attempt: a change ends a
        /// wait earned by an auth or "rejected" error.
        public var configKey: String?
        /// Unix time the provider's record was last read back or written (drift repair, `verify_interval`).
        public var lastVerifiedAt: Int64?
        public init() {}

        /// The provider holds `value`, checked or written at `t`: errors and back-off are cleared.
        mutating func succeeded(_ value: String, at t: Int64) {
            self.value = value
            lastError = nil
            failures = 0
            nextAttemptAt = 0
            lastSuccessAt = t
            rateLimited = false
        }
    }

    public var entries: [String: Entry] = [:]
    public init() {}

    public static func key(provider: String, name: DDNSName, family: AddressFamily) -> String {
        "\(provider) \(name.fqdn) \(family.rawValue)"
    }

    /// A missing, unreadable or corrupt file is an empty state (the first cycle then checks the provider).
    public static func load(_ path: String) -> DDNSState {
        guard let text = try? readText(path) else { return DDNSState() }
        return (try? JSONDecoder().decode(DDNSState.self, from: Data(text.utf8))) ?? DDNSState()
    }

    /// Written to a temporary file (mode 0600), synced, then renamed: a power cut leaves the old state or the
    /// new one, and a state file that was readable by others is replaced by one that is not.
    public func save(_ path: String) throws(DDNSConfigError) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .prettyPrinted]
        guard let data = try? enc.encode(self) else { throw DDNSConfigError(message: "cannot encode the DDNS state") }
        let tmp = path + ".tmp"
        // 0600: the state names the provider's records and its error texts; nobody else needs to read it.
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0, fchmod(fd, 0o600) == 0, let f = fdopen(fd, "w") else {
            let why = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw DDNSConfigError(message: "cannot write \(tmp): \(why)")
        }
        let bytes = [UInt8](data)
        let ok = fwrite(bytes, 1, bytes.count, f) == bytes.count && fflush(f) == 0 && fsync(fileno(f)) == 0
        fclose(f)
        guard ok, rename(tmp, path) == 0 else { throw DDNSConfigError(message: "cannot write \(path): \(String(cString: strerror(errno)))") }
    }
}

/// What went wrong talking to a DDNS provider, sorted by what the daemon should do about it.
public enum DDNSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Credentials wrong or lacking permission: report once with what to fix, retry slowly.
    case auth(String)
    /// HTTP 429: wait at least `retryAfter` seconds (when the provider said).
    case rateLimited(retryAfter: Int?)
    /// 5xx, timeouts, connection failures: back off exponentially with jitter.
    case transient(String)
    /// The provider refused this request for a reason that retrying will not fix soon.
    case rejected(String)

    public var description: String {
        switch self {
        case .auth(let m): "authentication failed: \(m)"
        case .rateLimited(let s): "rate limited" + (s.map { ", retry after \($0) s" } ?? "")
        case .transient(let m): "temporary failure: \(m)"
        case .rejected(let m): "rejected: \(m)"
        }
    }
}

/// One DNS name a provider keeps at the WAN address.
public struct DDNSName: Sendable, Hashable, CustomStringConvertible {
    /// Fully qualified, without the trailing dot: "vpn.jamfox.dev", "jamfox.dev", "*.jamfox.dev".
    public var fqdn: String
    public var zone: String
    public init(fqdn: String, zone: String) {
        self.fqdn = fqdn.lowercased().hasSuffix(".") ? String(fqdn.lowercased().dropLast()) : fqdn.lowercased()
        self.zone = zone.lowercased().hasSuffix(".") ? String(zone.lowercased().dropLast()) : zone.lowercased()
    }
    public var description: String { fqdn }
    /// The host part relative to the zone: "@" for the apex, "*" for the wildcard, "vpn" for vpn.zone.
    public var host: String {
        if fqdn == zone { return "@" }
        return fqdn.hasSuffix("." + zone) ? String(fqdn.dropLast(zone.count + 1)) : fqdn
    }
}

/// What an update did.
public enum UpdateOutcome: Sendable, Equatable {
    case unchanged
    case updated(from: String?)
    case created
    case wouldUpdate(from: String?)  // dry run
    case wouldCreate

    var wrote: Bool {
        switch self {
        case .updated, .created: true
        default: false
        }
    }
}

/// An update's outcome, and other records of the same name and type the provider holds (by id and value):
/// reported, never deleted, since a person may have made them on purpose.
public struct UpdateResult: Sendable, Equatable {
    public var outcome: UpdateOutcome
    public var others: [String] = []
    public init(_ outcome: UpdateOutcome, others: [String] = []) {
        self.outcome = outcome
        self.others = others
    }
}

/// A DDNS provider. Implementations do HTTP through `HTTPClient` and never put secrets in errors.
public protocol DDNSProvider {
    var label: String { get }
    /// Families the provider can publish (Namecheap: IPv4 only).
    var families: [AddressFamily] { get }
    /// Whether `current` can read the record back (Namecheap's dynamic DNS cannot: the state file decides).
    var canRead: Bool { get }
    /// What the provider's record holds now (nil: no such record; providers that cannot read return nil).
    func current(_ name: DDNSName, family: AddressFamily) throws(DDNSError) -> String?
    /// Brings the record to `address`, reading it once first (no write when it already holds it).
    func update(_ name: DDNSName, to address: WANAddress, dryRun: Bool) throws(DDNSError) -> UpdateResult
}

/// Maps an HTTP status to the error class when the body gave nothing more specific.
func classify(status: Int, retryAfter: String?, message: String) -> DDNSError {
    switch status {
    case 429: return .rateLimited(retryAfter: retryAfter.flatMap { Int($0.trimmingSpaces) })
    case 401, 403: return .auth(message)
    case 500...599: return .transient("HTTP \(status): \(message)")
    default: return .rejected("HTTP \(status): \(message)")
    }
}

func transient(_ e: HTTPError) -> DDNSError { .transient(e.description) }

import DNSWire

/// One upstream server: an IP address and a port ("192.168.10.120:8600", "[::1]:53", or dnsmasq's
/// "192.168.10.120#8600").
public struct UpstreamServer: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public var isIPv6: Bool

    public init?(_ text: String) {
        guard let hp = HostPort(text, defaultPort: 53, hashPort: true) else { return nil }
        host = hp.host
        port = hp.port
        isIPv6 = hp.isIPv6
    }

    /// The form `ares_set_servers_ports_csv` takes.
    var aresCSV: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
    public var description: String { aresCSV }
}

/// Why a forwarded query got no usable answer.
public enum ForwardError: Error, Sendable, Equatable {
    /// Every server of the zone timed out or failed within the deadline.
    case allServersFailed(tried: Int)
    /// The in-flight window is full and the queue too: shed load instead of growing memory.
    case overloaded
    /// The query could not be built or the answer did not match it.
    case badMessage(String)
}

/// What is known of a server: `unknown` until it has answered or failed once (a server that never answered
/// is not "up"), then `up` while it answers, `down` while it is in its back-off or has never answered.
public enum ServerState: String, Sendable { case unknown, up, down }

/// Health of one server, from real answers and health probes: an EWMA of latency, consecutive failures,
/// and a back-off during which it is only probed (one query at a time).
public struct ServerHealth: Sendable, Equatable {
    public var rttMs: Double = 50
    public var consecutiveFailures = 0
    public var deadUntilMs: Int64 = 0
    public var probing = false
    public var answered = 0
    public var failed = 0
    /// The last time this server was asked anything (a query or a probe), for probing while idle.
    public var lastContactMs: Int64 = 0

    public init() {}

    public func isAlive(now: Int64) -> Bool { now >= deadUntilMs }

    public func state(now: Int64) -> ServerState {
        if !isAlive(now: now) { return .down }
        if answered == 0 { return failed == 0 ? .unknown : .down }
        return .up
    }

    mutating func success(rttMs r: Double) {
        rttMs = answered == 0 ? r : rttMs * 0.8 + r * 0.2
        consecutiveFailures = 0
        deadUntilMs = 0
        probing = false
        answered += 1
    }

    /// Two failures in a row mark the server dead for a back-off that doubles up to 30 s, each time a probe
    /// after the back-off fails too. Failures while it is already in back-off (the other questions of one
    /// stall timing out) are counted, but do not lengthen it: a server back after a stall is found out soon.
    mutating func failure(now: Int64) {
        failed += 1
        probing = false
        guard isAlive(now: now) else { return }
        consecutiveFailures += 1
        if consecutiveFailures >= 2 {
            let backoff = min(30_000, 1000 << min(consecutiveFailures - 2, 5))
            deadUntilMs = now + Int64(backoff)
        }
    }
}

/// Chooses the order in which a zone's servers are tried: alive ones by latency, then dead ones whose
/// back-off is over (a probe), then the rest (better a dead server than none).
public enum ServerSelection {
    public static func order(_ health: [ServerHealth], now: Int64) -> [Int] {
        let idx = Array(health.indices)
        let alive = idx.filter { health[$0].isAlive(now: now) && health[$0].consecutiveFailures == 0 }.sorted { health[$0].rttMs < health[$1].rttMs }
        let suspect = idx.filter { health[$0].isAlive(now: now) && health[$0].consecutiveFailures > 0 }
        let dead = idx.filter { !health[$0].isAlive(now: now) }.sorted { health[$0].deadUntilMs < health[$1].deadUntilMs }
        return alive + suspect + dead
    }
}

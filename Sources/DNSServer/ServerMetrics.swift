#if canImport(Glibc)
import Glibc
#endif
import CSys
import DNSWire
import Exposition
import Synchronization
import SystemIO

/// Where an answer came from: the `source` label of the query metrics and the query log.
public enum AnswerSource: Int, CaseIterable, Sendable {
    /// From a served zone (NOERROR or NXDOMAIN).
    case authoritative
    /// From the resolver's cache.
    case cache
    /// Fetched from an upstream just now (SERVFAIL included when none answered).
    case forward
    /// An expired cache entry served because no upstream answered (RFC 8767).
    case stale
    /// REFUSED by policy: ACL, recursion not offered, not authoritative.
    case refused
    /// Answered locally without data: protocol errors (FORMERR, NOTIMP, BADVERS), domain_needed/bogus_priv.
    case local

    public var label: String {
        switch self {
        case .authoritative: "authoritative"
        case .cache: "cache"
        case .forward: "forward"
        case .stale: "stale"
        case .refused: "refused"
        case .local: "local"
        }
    }

    /// An engine answer's source, from its RCODE (zone answers are NOERROR or NXDOMAIN, errors are not).
    static func ofEngineAnswer(rcode: UInt8) -> AnswerSource {
        switch rcode {
        case 0, 3: .authoritative
        case 5: .refused
        default: .local
        }
    }
}

/// Counters written by the query path: one block per thread (no cache line shared between cores on the hot
/// path), summed when scraped. Every index is fixed, so recording allocates nothing.
package final class MetricBlock: @unchecked Sendable {
    /// The types counted on their own, in `typeIndex` order; every other type is counted as "other".
    static let types: [RRType] = [.a, .aaaa, .cname, .mx, .txt, .ns, .soa, .ptr, .srv, .https, .svcb, .caa, .any, .ds, .dnskey]
    static let typeCount = types.count + 1  // + "other"
    /// RCODE labels: NOERROR through REFUSED by name, the rest as "other".
    static let rcodes = (0...5).map { RCode(rawValue: UInt16($0)).description } + ["other"]
    static let sources = AnswerSource.allCases.count
    /// Latency bucket upper bounds in microseconds (the exposition uses seconds).
    static let boundsUs: [Int] = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000, 5_000_000]

    package enum Extra: Int, CaseIterable {
        case dropped, rrlDropped, rrlSlipped, tcpAccepted, tcpRefused, tcpEvicted, queryLogDropped, tcpSlowFrames
        case tsigFormErr, tsigBadKey, tsigBadSig, tsigBadTime
        case transfersRefused, axfrServed, ixfrServed, ixfrUpToDate, ixfrWhole, transferFailed
        case notifySent, notifyAnswered, notifyGaveUp
        case updatesApplied, updatesRefused, updatesFailedPrerequisite, updatesRateLimited, updatesForwarded, updatesFailed
    }

    static let queryCells = typeCount * rcodes.count * 2 * sources
    static let histogramBase = queryCells
    static let histogramCells = sources * (boundsUs.count + 2)  // buckets, +Inf, sum (µs)
    static let extraBase = histogramBase + histogramCells
    static let size = extraBase + Extra.allCases.count

    let cells: UnsafeMutablePointer<UInt64>

    package init() {
        cells = .allocate(capacity: Self.size)
        cells.initialize(repeating: 0, count: Self.size)
    }

    deinit { cells.deallocate() }

    @inline(__always) static func typeIndex(_ t: UInt16) -> Int {
        switch t {
        case 1: 0
        case 28: 1
        case 5: 2
        case 15: 3
        case 16: 4
        case 2: 5
        case 6: 6
        case 12: 7
        case 33: 8
        case 65: 9
        case 64: 10
        case 257: 11
        case 255: 12
        case 43: 13
        case 48: 14
        default: 15
        }
    }

    @inline(__always) static func queryIndex(type: Int, rcode: Int, tcp: Bool, source: Int) -> Int {
        ((type * rcodes.count + rcode) * 2 + (tcp ? 1 : 0)) * sources + source
    }

    /// One answered query: counts it and puts its latency in the histogram of its source.
    @inline(__always) func record(qtype: UInt16, rcode: UInt8, tcp: Bool, source: AnswerSource, latencyUs: Int) {
        let r = rcode <= 5 ? Int(rcode) : 6
        jam_counter_add(cells + Self.queryIndex(type: Self.typeIndex(qtype), rcode: r, tcp: tcp, source: source.rawValue), 1)
        let base = Self.histogramBase + source.rawValue * (Self.boundsUs.count + 2)
        var b = 0
        while b < Self.boundsUs.count && latencyUs > Self.boundsUs[b] { b += 1 }
        jam_counter_add(cells + base + b, 1)
        jam_counter_add(cells + base + Self.boundsUs.count + 1, UInt64(max(0, latencyUs)))
    }

    @inline(__always) func count(_ e: Extra) { jam_counter_add(cells + Self.extraBase + e.rawValue, 1) }

    func load(_ i: Int) -> UInt64 { jam_counter_load(cells + i) }

    /// Answered queries counted for `source` (every type, RCODE and transport), for tests and explain.
    package func answered(_ source: AnswerSource) -> UInt64 {
        var n: UInt64 = 0
        for t in 0..<Self.typeCount {
            for r in 0..<Self.rcodes.count {
                for tcp in [false, true] { n &+= load(Self.queryIndex(type: t, rcode: r, tcp: tcp, source: source.rawValue)) }
            }
        }
        return n
    }

    /// Answered queries of every source.
    package var answeredTotal: UInt64 { AnswerSource.allCases.reduce(0) { $0 &+ answered($1) } }

    package func extra(_ e: Extra) -> UInt64 { load(Self.extraBase + e.rawValue) }
}

/// The server's metric blocks, and the text a scrape returns.
public final class ServerMetrics: Sendable {
    let blocks = Mutex<[MetricBlock]>([])
    /// Zone snapshot swaps, store reload failures, config reloads (good and refused).
    let zoneReloads = Atomic<UInt64>(0), zoneReloadFailures = Atomic<UInt64>(0)
    /// Journal entries applied to the served snapshot, and loads of the whole store (start, SIGHUP, journal cut).
    let zoneChangesApplied = Atomic<UInt64>(0), storeFullLoads = Atomic<UInt64>(0)
    let configReloads = Atomic<UInt64>(0), configReloadFailures = Atomic<UInt64>(0)
    let started = wallMs() / 1000

    public init() {}

    /// A fresh block for one thread.
    func block() -> MetricBlock {
        let b = MetricBlock()
        blocks.withLock { $0.append(b) }
        return b
    }

    func sum(_ i: Int) -> UInt64 { blocks.withLock { $0.reduce(0) { $0 &+ $1.load(i) } } }

    /// Every query counter that is not zero, as (type, rcode, transport, source, count).
    func queryCounts() -> [(String, String, String, String, UInt64)] {
        var out: [(String, String, String, String, UInt64)] = []
        let snapshot = blocks.withLock { $0 }
        for t in 0..<MetricBlock.typeCount {
            for r in 0..<MetricBlock.rcodes.count {
                for tcp in [false, true] {
                    for s in AnswerSource.allCases {
                        let i = MetricBlock.queryIndex(type: t, rcode: r, tcp: tcp, source: s.rawValue)
                        let n = snapshot.reduce(UInt64(0)) { $0 &+ $1.load(i) }
                        if n > 0 {
                            let type = t < MetricBlock.types.count ? MetricBlock.types[t].description : "other"
                            out.append((type, MetricBlock.rcodes[r], tcp ? "tcp" : "udp", s.label, n))
                        }
                    }
                }
            }
        }
        return out
    }

    /// The Prometheus text for everything the query path counts (the server adds its gauges).
    func write(into p: inout PrometheusText) {
        p.family("jamdns_queries_total", .counter, "Answered queries by question type, response code, transport and answer source.")
        for (type, rcode, transport, source, n) in queryCounts() {
            p.sample("jamdns_queries_total", [("type", type), ("rcode", rcode), ("transport", transport), ("source", source)], n)
        }
        p.family("jamdns_query_duration_seconds", .histogram, "Time from receiving a query to its answer being ready, by answer source.")
        let bounds = MetricBlock.boundsUs.map { Double($0) / 1e6 }
        for s in AnswerSource.allCases {
            let base = MetricBlock.histogramBase + s.rawValue * (MetricBlock.boundsUs.count + 2)
            let counts = (0...MetricBlock.boundsUs.count).map { sum(base + $0) }
            guard counts.contains(where: { $0 > 0 }) else { continue }
            p.histogram("jamdns_query_duration_seconds", [("source", s.label)], bounds: bounds, counts: counts,
                        sum: Double(sum(base + MetricBlock.boundsUs.count + 1)) / 1e6)
        }
        let extras: [(MetricBlock.Extra, String, String)] = [
            (.dropped, "jamdns_queries_dropped_total", "Datagrams dropped unanswered: responses, unreadable questions."),
            (.rrlDropped, "jamdns_rrl_dropped_total", "Answers withheld by response-rate limiting."),
            (.rrlSlipped, "jamdns_rrl_slipped_total", "Answers replaced by a truncated (TC) reply by response-rate limiting."),
            (.tcpAccepted, "jamdns_tcp_connections_total", "TCP connections accepted."),
            (.tcpRefused, "jamdns_tcp_connections_refused_total", "TCP connections closed at once because tcp_max_connections were open."),
            (.tcpEvicted, "jamdns_tcp_connections_evicted_total", "Silent TCP connections closed to make room for a new one at tcp_max_connections."),
            (.queryLogDropped, "jamdns_query_log_dropped_total", "Query log lines dropped because the writer fell behind."),
            (.tcpSlowFrames, "jamdns_tcp_slow_frames_total", "TCP connections closed because a message did not arrive whole within tcp_frame_timeout_ms."),
            (.tsigFormErr, "jamdns_tsig_formerr_total", "Queries whose TSIG record was malformed or misplaced (answered FORMERR)."),
            (.tsigBadKey, "jamdns_tsig_badkey_total", "Signed queries naming an unknown key or a key's wrong algorithm (BADKEY)."),
            (.tsigBadSig, "jamdns_tsig_badsig_total", "Signed queries whose MAC did not verify (BADSIG)."),
            (.tsigBadTime, "jamdns_tsig_badtime_total", "Signed queries outside the time window of their fudge (BADTIME)."),
            (.transfersRefused, "jamdns_transfers_refused_total", "AXFR/IXFR requests refused by allow_transfer."),
            (.axfrServed, "jamdns_axfr_started_total", "AXFR transfers started."),
            (.ixfrServed, "jamdns_ixfr_started_total", "IXFR transfers started over TCP."),
            (.ixfrUpToDate, "jamdns_ixfr_up_to_date_total", "IXFR requests answered with the single SOA (client up to date, or over UDP)."),
            (.ixfrWhole, "jamdns_ixfr_whole_zone_total", "IXFR requests the journal did not reach, sent as the whole zone."),
            (.transferFailed, "jamdns_transfers_failed_total", "Transfers cut off because a message could not be made or the client went away."),
            (.notifySent, "jamdns_notify_sent_total", "NOTIFY messages sent to secondaries (retries included)."),
            (.notifyAnswered, "jamdns_notify_answered_total", "NOTIFY messages a secondary acknowledged."),
            (.notifyGaveUp, "jamdns_notify_gave_up_total", "NOTIFYs given up after every retry went unanswered."),
            (.updatesApplied, "jamdns_updates_applied_total", "RFC 2136 UPDATEs applied (NOERROR), including those that changed nothing."),
            (.updatesRefused, "jamdns_updates_refused_total", "UPDATEs refused: no rule for the sender, a record beyond its rules, a zone check or a bound."),
            (.updatesFailedPrerequisite, "jamdns_updates_prerequisite_failed_total", "UPDATEs whose prerequisites did not hold (YXDOMAIN, YXRRSET, NXDOMAIN, NXRRSET)."),
            (.updatesRateLimited, "jamdns_updates_rate_limited_total", "UPDATEs refused because their key (or address) was over update.rate."),
            (.updatesForwarded, "jamdns_updates_forwarded_total", "UPDATEs to a secondary zone passed to its primary."),
            (.updatesFailed, "jamdns_updates_failed_total", "UPDATEs answered SERVFAIL: the store could not be written, or the primary did not answer."),
        ]
        for (e, name, help) in extras {
            p.family(name, .counter, help)
            p.sample(name, [], sum(MetricBlock.extraBase + e.rawValue))
        }
        p.family("jamdns_zone_reloads_total", .counter, "Zone snapshots swapped in after a store change or SIGHUP.")
        p.sample("jamdns_zone_reloads_total", [], zoneReloads.load(ordering: .relaxed))
        p.family("jamdns_zone_changes_applied_total", .counter, "Store journal entries applied to the served zones in place.")
        p.sample("jamdns_zone_changes_applied_total", [], zoneChangesApplied.load(ordering: .relaxed))
        p.family("jamdns_store_full_loads_total", .counter, "Loads of every zone from the store (SIGHUP, or the journal did not reach back).")
        p.sample("jamdns_store_full_loads_total", [], storeFullLoads.load(ordering: .relaxed))
        p.family("jamdns_zone_reload_failures_total", .counter, "Store reads that failed (the previous zones kept serving).")
        p.sample("jamdns_zone_reload_failures_total", [], zoneReloadFailures.load(ordering: .relaxed))
        p.family("jamdns_config_reloads_total", .counter, "SIGHUP config reloads, by result.")
        p.sample("jamdns_config_reloads_total", [("result", "applied")], configReloads.load(ordering: .relaxed))
        p.sample("jamdns_config_reloads_total", [("result", "rejected")], configReloadFailures.load(ordering: .relaxed))
        p.family("jamdns_start_time_seconds", .gauge, "Unix time the server started.")
        p.sample("jamdns_start_time_seconds", [], Double(started))
        p.family("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
        p.sample("process_resident_memory_bytes", [], Double(Self.residentBytes()))
        var used = 0, held = 0
        jam_heap_bytes(&used, &held)
        p.family("jamdns_heap_bytes", .gauge, "malloc's heap: bytes in use, and bytes freed but held (fragments it cannot hand back).")
        p.sample("jamdns_heap_bytes", [("state", "in_use")], Double(used))
        p.sample("jamdns_heap_bytes", [("state", "free")], Double(held))
    }

    /// RSS from /proc/self/statm (its second field, in pages).
    static func residentBytes() -> Int {
        guard let f = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 128)
        guard fgets(&buf, 128, f) != nil else { return 0 }
        let parts = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }.split(separator: " ")
        guard parts.count >= 2, let pages = Int(parts[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

import Exposition

/// jamdns-ddns's `/metrics` (Prometheus text) and `/healthz`, from its state: per name, when it last
/// succeeded, how often it failed, whether the provider is rate-limiting it and when it is tried next.
public enum DDNSMetrics {
    public static func exposition(_ state: DDNSState, now: Int64) -> String {
        var p = PrometheusText()
        let rows = state.entries.sorted { $0.key < $1.key }.map { (key, e) -> ([(String, String)], DDNSState.Entry) in
            let parts = key.split(separator: " ").map(String.init)
            let labels = parts.count == 3 ? [("provider", parts[0]), ("name", parts[1]), ("family", parts[2])] : [("key", key)]
            return (labels, e)
        }
        p.family("jamdns_ddns_last_success_timestamp_seconds", .gauge, "Unix time the name was last found or made right at the provider (0: never).")
        for (l, e) in rows { p.sample("jamdns_ddns_last_success_timestamp_seconds", l, Double(e.lastSuccessAt ?? 0)) }
        p.family("jamdns_ddns_last_push_timestamp_seconds", .gauge, "Unix time the address was last written to the provider (0: never).")
        for (l, e) in rows { p.sample("jamdns_ddns_last_push_timestamp_seconds", l, Double(e.pushedAt ?? 0)) }
        p.family("jamdns_ddns_failures_total", .counter, "Failed attempts for the name.")
        for (l, e) in rows { p.sample("jamdns_ddns_failures_total", l, Double(e.failuresTotal ?? 0)) }
        p.family("jamdns_ddns_consecutive_failures", .gauge, "Failures since the last success.")
        for (l, e) in rows { p.sample("jamdns_ddns_consecutive_failures", l, Double(e.failures)) }
        p.family("jamdns_ddns_rate_limited", .gauge, "1 while the provider's rate limit (HTTP 429) holds the name back.")
        for (l, e) in rows { p.sample("jamdns_ddns_rate_limited", l, (e.rateLimited ?? false) && e.nextAttemptAt > now ? 1.0 : 0.0) }
        p.family("jamdns_ddns_next_attempt_timestamp_seconds", .gauge, "Unix time before which the name is not tried again (0: next cycle).")
        for (l, e) in rows { p.sample("jamdns_ddns_next_attempt_timestamp_seconds", l, Double(e.nextAttemptAt)) }
        return p.text
    }

    /// 200 when every name's last attempt succeeded; 503 listing the failing ones.
    public static func health(_ state: DDNSState) -> (Int, String) {
        let failing = state.entries.filter { $0.value.lastError != nil }.sorted { $0.key < $1.key }
        if failing.isEmpty { return (200, "ok: \(state.entries.count) name(s) up to date\n") }
        return (503, failing.map { "failing: \($0.key): \($0.value.lastError ?? "")\n" }.joined())
    }
}

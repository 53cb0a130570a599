/// One provider configured with its names.
public struct ProviderSetup {
    public var config: ProviderConfig
    public var provider: DDNSProvider
    /// Changes when the provider's config or secret does: a wait earned by an auth or "create is off" error
    /// ends when the person fixes what it said (a hash; the secret itself is never stored).
    public var fingerprint: String
    public init(config: ProviderConfig, provider: DDNSProvider, secret: Secret) {
        self.config = config
        self.provider = provider
        fingerprint = Self.fingerprint(config, secret)
    }

    static func fingerprint(_ c: ProviderConfig, _ secret: Secret) -> String {
        let text = "\(c.kind.rawValue)\u{0}\(c.api)\u{0}\(c.zone)\u{0}\(c.names)\u{0}\(c.create)\u{0}\(c.ttl ?? -1)\u{0}\(c.proxied.map { "\($0)" } ?? "-")\u{0}\(c.comment ?? "")\u{0}\(secret.value)"
        var h: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a 64
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return String(h, radix: 16)
    }
}

/// One line of a cycle's report.
public struct CycleLine: Sendable, Equatable, CustomStringConvertible {
    public var provider: String
    public var name: String
    public var family: AddressFamily
    public var result: String
    public var failed: Bool
    public var description: String { "\(provider) \(name) \(family.rawValue): \(result)" }
}

/// The DDNS loop's body: detect, compare with what was pushed (and with what the provider holds, at start and
/// after errors), write only what changed, back off per name. Time and output are injected.
public final class DDNSDaemon {
    let config: DDNSConfig
    let setups: [ProviderSetup]
    let detector: Detector
    let statePath: String
    let now: () -> Int64
    let log: (String) -> Void
    let lab: LabSync?
    var state: DDNSState
    var jitter = SystemRandomNumberGenerator()
    /// Run by hand (`--once`): waits after auth and "rejected" errors are skipped, since the person running
    /// it has probably just fixed the cause. Rate-limit waits (Retry-After) are always kept.
    public var byHand = false

    public init(config: DDNSConfig, setups: [ProviderSetup], detector: Detector, statePath: String,
                now: @escaping () -> Int64, log: @escaping (String) -> Void, lab: LabSync? = nil) {
        self.lab = lab
        self.config = config
        self.setups = setups
        self.detector = detector
        self.statePath = statePath
        self.now = now
        self.log = log
        state = DDNSState.load(statePath)
    }

    /// Seconds to wait after `failures` transient failures: 30 s doubling to an hour, ±20 % jitter.
    func backoff(_ failures: Int) -> Int64 {
        let base = min(3600, 30 << min(max(failures - 1, 0), 7))
        let spread = base / 5
        return Int64(base + (spread > 0 ? Int.random(in: -spread...spread, using: &jitter) : 0))
    }

    /// Runs one cycle. `verify`: read the provider's current value even when our state says it is up to date
    /// (at start). Returns the report; the state is saved unless `dryRun`.
    public func cycle(dryRun: Bool, verify: Bool) -> [CycleLine] {
        var lines: [CycleLine] = []
        let t = now()
        for family in [AddressFamily.v4, .v6] where family == .v4 ? config.ipv4 : config.ipv6 {
            let (found, failures) = detector.detect(family == .v4 ? config.detectV4 : config.detectV6, family: family)
            if let address = found, !dryRun, let l = lab?.ensureRecord(address) {
                lines.append(CycleLine(provider: "lab", name: config.labRecord ?? "", family: family, result: l, failed: l.contains("cannot")))
            }
            for setup in setups where setup.provider.families.contains(family) {
                for name in setup.config.ddnsNames {
                    guard let address = found else {
                        lines.append(CycleLine(provider: setup.provider.label, name: name.fqdn, family: family,
                                               result: "no WAN address: " + failures.joined(separator: "; "), failed: true))
                        continue
                    }
                    lines.append(push(address, name: name, setup: setup, now: t, dryRun: dryRun, verify: verify))
                }
            }
        }
        if !dryRun {
            do { try state.save(statePath) } catch { log("warning: \(error)") }
            // Names whose address moved: the LAN's resolver must not keep serving the old one.
            let moved = Set(lines.filter { $0.result.hasPrefix("updated") || $0.result.hasPrefix("created") || $0.result.contains("set to") }
                .map { $0.name }).filter { !$0.isEmpty }
            if let lab, !moved.isEmpty {
                for l in lab.flush(moved.sorted()) { lines.append(CycleLine(provider: "lab", name: "", family: .v4, result: l, failed: false)) }
            }
        }
        return lines
    }

    func push(_ address: WANAddress, name: DDNSName, setup: ProviderSetup, now t: Int64, dryRun: Bool, verify: Bool) -> CycleLine {
        let p = setup.provider
        let key = DDNSState.key(provider: p.label, name: name, family: address.family)
        var e = state.entries[key] ?? DDNSState.Entry()
        func line(_ r: String, failed: Bool = false) -> CycleLine {
            CycleLine(provider: p.label, name: name.fqdn, family: address.family, result: r, failed: failed)
        }
        // A rate limit is the token's (the account's), not the name's: every name of the provider waits.
        if !dryRun, let held = state.entries.first(where: { $0.key.hasPrefix(p.label + " ") && $0.value.rateLimited == true && $0.value.nextAttemptAt > t }) {
            return line("waiting \(held.value.nextAttemptAt - t) s: \(p.label) rate-limited this token (\(held.key.split(separator: " ").dropFirst().first ?? "?"))", failed: true)
        }
        // A wait earned by an auth or "rejected" error ends when the config or secret changed, or by hand.
        let fixable = e.rateLimited != true && e.lastError != nil
        if fixable && (e.configKey != setup.fingerprint || byHand) { e.nextAttemptAt = 0 }
        if t < e.nextAttemptAt && !dryRun {
            return line("waiting \(e.nextAttemptAt - t) s before trying again (last error: \(e.lastError ?? "?"))", failed: e.lastError != nil)
        }
        let value = address.description
        // Our state is trusted between cycles; at start, after an error, and every verify_interval the provider
        // is asked (when it can be read: Namecheap's cannot, so there the state, persisted across restarts,
        // decides), which repairs a record changed or deleted behind our back.
        let verifyDue = config.verifyIntervalSeconds > 0 && t - (e.lastVerifiedAt ?? 0) >= Int64(config.verifyIntervalSeconds)
        let needsCheck = (verify || verifyDue || e.lastError != nil || e.value == nil) && p.canRead
        if e.value == value && e.lastError == nil && !needsCheck {
            if !dryRun {
                e.lastSuccessAt = t
                state.entries[key] = e
            }
            return line("unchanged \(value)")
        }
        do {
            // One read: the provider's update compares what it holds and writes only when it differs.
            let result = try p.update(name, to: address, dryRun: dryRun)
            if !dryRun {
                if e.lastError != nil { log("\(p.label) \(name.fqdn): recovered after \(e.failures) failure(s) (last: \(e.lastError ?? "?"))") }
                e.succeeded(value, at: t)
                e.configKey = setup.fingerprint
                if p.canRead { e.lastVerifiedAt = t }
                if result.outcome.wrote { e.pushedAt = t }
                e.lastAttemptAt = t
                state.entries[key] = e
            }
            let others = result.others.isEmpty ? "" : "; also " + result.others.joined(separator: ", ") + " (left alone: remove them at \(p.label) if stale)"
            switch result.outcome {
            case .unchanged: return line("unchanged \(value)\(needsCheck ? " (provider checked)" : "")" + others)
            case .updated(let from): return line("updated \(from ?? "?") → \(value)" + others)
            case .created: return line("created \(value)" + others)
            case .wouldUpdate(let from): return line("would update \(from ?? "?") → \(value) (dry run)" + others)
            case .wouldCreate: return line("would create \(value) (dry run)" + others)
            }
        } catch {
            guard !dryRun else { return line("error: \(error) (dry run)", failed: true) }
            let first = e.lastError != error.description
            e.failures += 1
            e.failuresTotal = (e.failuresTotal ?? 0) + 1
            e.lastAttemptAt = t
            e.lastError = error.description
            e.configKey = setup.fingerprint
            if case .rateLimited = error { e.rateLimited = true } else { e.rateLimited = false }
            switch error {
            case .rateLimited(let s): e.nextAttemptAt = t + max(Int64(s ?? 60), backoff(e.failures))
            case .auth: e.nextAttemptAt = t + 3600  // fixing credentials takes a person: retry slowly
            case .transient: e.nextAttemptAt = t + backoff(e.failures)
            case .rejected: e.nextAttemptAt = t + 3600
            }
            state.entries[key] = e
            if first { log("\(p.label) \(name.fqdn): \(error)") }
            return line("error: \(error)", failed: true)
        }
    }

    /// `status` for people: one line per name.
    public static func status(_ s: DDNSState, now: Int64) -> [[String]] {
        s.entries.keys.sorted().compactMap { k in
            guard let e = s.entries[k] else { return nil }
            let parts = k.split(separator: " ").map(String.init)
            guard parts.count == 3 else { return nil }
            let pushed = e.pushedAt.map { "\(max(0, now - $0)) s ago" } ?? "never"
            return [parts[1], parts[0], parts[2], e.value ?? "-", pushed, e.lastError ?? "-"]
        }
    }
}

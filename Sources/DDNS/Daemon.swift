/// One provider configured with its names.
public struct ProviderSetup {
    public var config: ProviderConfig
    public var provider: DDNSProvider
    /// Changes when the provider's config or secret does: a wait earned by an auth or "create is off" error
    /// ends when the person fixes what it said (a hash; the secret itself is never stored).
    public var fingerprint: String
    /// Kept to redact it from whatever the provider answers (`Redactor`); never printed.
    let secret: Secret
    public init(config: ProviderConfig, provider: DDNSProvider, secret: Secret) {
        self.config = config
        self.provider = provider
        self.secret = secret
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

/// What a cycle did for one name, the lab record, or a cache flush. Decisions (exit status, which names
/// moved, what the loop prints) are made on the case, never on the text.
public enum CycleResult: Sendable, Equatable, CustomStringConvertible {
    case unchanged(String, checked: Bool)
    case updated(from: String?, to: String)
    case created(String)
    case wouldUpdate(from: String?, to: String)
    case wouldCreate(String)
    /// Not tried now; `lastError` is what earned the wait (nil: no error, nothing is failing).
    case waiting(seconds: Int64, lastError: String?, heldBy: String?)
    case failed(String)
    case noAddress([String])
    /// The lab's own record in the store.
    case labSet(record: String, type: String, address: String, serial: UInt32)
    case labUnchanged(record: String, type: String, address: String)
    case labFailed(String)
    /// jamdns's answer to a cache flush of a name that moved.
    case flushed(String)

    public var isFailure: Bool {
        switch self {
        case .failed, .noAddress, .labFailed: true
        case .waiting(_, let e, _): e != nil
        default: false
        }
    }

    /// The address the name points at changed (the LAN's resolver must drop what it cached).
    public var moved: Bool {
        switch self {
        case .updated, .created, .labSet: true
        default: false
        }
    }

    public var isUnchanged: Bool { if case .unchanged = self { true } else { false } }

    public var description: String {
        switch self {
        case .unchanged(let v, let checked): "unchanged \(v)" + (checked ? " (provider checked)" : "")
        case .updated(let from, let to): "updated \(from ?? "?") → \(to)"
        case .created(let v): "created \(v)"
        case .wouldUpdate(let from, let to): "would update \(from ?? "?") → \(to) (dry run)"
        case .wouldCreate(let v): "would create \(v) (dry run)"
        case .waiting(let s, let e, let held):
            held.map { "waiting \(s) s: \($0)" } ?? "waiting \(s) s before trying again (last error: \(e ?? "?"))"
        case .failed(let e): "error: \(e)"
        case .noAddress(let why): "no WAN address: " + why.joined(separator: "; ")
        case .labSet(let r, let t, let a, let serial): "lab: \(r) \(t) set to \(a) (serial \(serial))"
        case .labUnchanged(let r, let t, let a): "lab: \(r) \(t) unchanged \(a)"
        case .labFailed(let e): "lab: \(e)"
        case .flushed(let answer): "jamdns cache: \(answer)"
        }
    }
}

/// One line of a cycle's report.
public struct CycleLine: Sendable, Equatable, CustomStringConvertible {
    public var provider: String
    public var name: String
    public var family: AddressFamily
    public var result: CycleResult
    /// Other records of the name the provider holds, reported by id and never deleted.
    public var others: [String] = []
    public var failed: Bool { result.isFailure }
    public var description: String {
        "\(provider) \(name) \(family.rawValue): \(result)"
            + (others.isEmpty ? "" : "; also " + others.joined(separator: ", ") + " (left alone: remove them at \(provider) if stale)")
    }
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
    /// Every provider's secret, taken out of error texts before they are logged, saved or shown.
    let redact: Redactor
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
        redact = Redactor(setups.map(\.secret))
        state = DDNSState.load(statePath)
        // A state file written before redaction existed may hold a leaked secret: cleaned, saved next cycle.
        for (k, e) in state.entries { if let text = e.lastError { state.entries[k]?.lastError = redact(text) } }
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
                lines.append(CycleLine(provider: "lab", name: config.labRecord ?? "", family: family, result: l))
            }
            for setup in setups where setup.provider.families.contains(family) {
                for name in setup.config.ddnsNames {
                    guard let address = found else {
                        lines.append(CycleLine(provider: setup.provider.label, name: name.fqdn, family: family, result: .noAddress(failures)))
                        continue
                    }
                    lines.append(push(address, name: name, setup: setup, now: t, dryRun: dryRun, verify: verify))
                }
            }
        }
        if !dryRun {
            do { try state.save(statePath) } catch { log("warning: \(error)") }
            // Names whose address moved: the LAN's resolver must not keep serving the old one.
            let moved = Set(lines.filter { $0.result.moved }.map { $0.name }).filter { !$0.isEmpty }
            if let lab, !moved.isEmpty {
                for l in lab.flush(moved.sorted()) { lines.append(CycleLine(provider: "lab", name: "", family: .v4, result: .flushed(l))) }
            }
        }
        return lines
    }

    func push(_ address: WANAddress, name: DDNSName, setup: ProviderSetup, now t: Int64, dryRun: Bool, verify: Bool) -> CycleLine {
        let p = setup.provider
        let key = DDNSState.key(provider: p.label, name: name, family: address.family)
        var e = state.entries[key] ?? DDNSState.Entry()
        func line(_ r: CycleResult, others: [String] = []) -> CycleLine {
            CycleLine(provider: p.label, name: name.fqdn, family: address.family, result: r, others: others)
        }
        // A rate limit is the token's (the account's), not the name's: every name of the provider waits.
        if !dryRun, let held = state.entries.first(where: { $0.key.hasPrefix(p.label + " ") && $0.value.rateLimited == true && $0.value.nextAttemptAt > t }) {
            let who = held.key.split(separator: " ").dropFirst().first.map(String.init) ?? "?"
            return line(.waiting(seconds: held.value.nextAttemptAt - t, lastError: held.value.lastError ?? "rate limited",
                                 heldBy: "\(p.label) rate-limited this token (\(who))"))
        }
        // A wait earned by an auth or "rejected" error ends when the config or secret changed, or by hand.
        let fixable = e.rateLimited != true && e.lastError != nil
        if fixable && (e.configKey != setup.fingerprint || byHand) { e.nextAttemptAt = 0 }
        if t < e.nextAttemptAt && !dryRun {
            return line(.waiting(seconds: e.nextAttemptAt - t, lastError: e.lastError, heldBy: nil))
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
            return line(.unchanged(value, checked: false))
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
            let others = result.others
            switch result.outcome {
            case .unchanged: return line(.unchanged(value, checked: needsCheck), others: others)
            case .updated(let from): return line(.updated(from: from, to: value), others: others)
            case .created: return line(.created(value), others: others)
            case .wouldUpdate(let from): return line(.wouldUpdate(from: from, to: value), others: others)
            case .wouldCreate: return line(.wouldCreate(value), others: others)
            }
        } catch {
            let text = redact(error.description)
            guard !dryRun else { return line(.failed("\(text) (dry run)")) }
            let first = e.lastError != text
            e.failures += 1
            e.failuresTotal = (e.failuresTotal ?? 0) + 1
            e.lastAttemptAt = t
            e.lastError = text
            e.configKey = setup.fingerprint
            if case .rateLimited = error { e.rateLimited = true } else { e.rateLimited = false }
            switch error {
            case .rateLimited(let s): e.nextAttemptAt = t + max(Int64(s ?? 60), backoff(e.failures))
            case .auth: e.nextAttemptAt = t + 3600  // fixing credentials takes a person: retry slowly
            case .transient: e.nextAttemptAt = t + backoff(e.failures)
            case .rejected: e.nextAttemptAt = t + 3600
            }
            state.entries[key] = e
            if first { log("\(p.label) \(name.fqdn): \(text)") }
            return line(.failed(text))
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

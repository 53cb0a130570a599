#if canImport(Glibc)
import Glibc
#endif
import DNSStore
import SystemIO
import DNSWire

/// The lab side of a WAN change: keep a record of the lab's own zone at the WAN address (through the store,
/// so the running jamdns serves it within a second) and tell the running jamdns to drop cached answers for
/// the DDNS names (so the LAN does not keep the old address until TTLs run out).
public final class LabSync {
    let storePath: String?
    let record: DNSName?
    let controlSocket: String?

    public init(storePath: String?, record: String?, controlSocket: String?) throws(DDNSConfigError) {
        self.storePath = storePath
        if let record {
            guard let n = try? DNSName(record.hasSuffix(".") ? record : record + ".") else {
                throw DDNSConfigError(message: "[lab] record '\(record)' is not a valid name")
            }
            self.record = n
        } else {
            self.record = nil
        }
        if let c = controlSocket {
            self.controlSocket = c
        } else if let s = storePath {
            self.controlSocket = ZoneStore.defaultControlSocket(forStore: s)
        } else {
            self.controlSocket = nil
        }
    }

    /// Sets the lab record's A or AAAA RRset to `address`; no edit (and no serial bump) when it already is.
    /// Returns what it did, for the report (nil: no lab record configured).
    public func ensureRecord(_ address: WANAddress) -> CycleResult? {
        guard let storePath, let record else { return nil }
        let type: RRType = address.family == .v4 ? .a : .aaaa
        let rdata: RData
        switch address {
        case .v4(let a): rdata = .a(a)
        case .v6(let a): rdata = .aaaa(a)
        }
        do {
            let store = try ZoneStore(path: storePath)
            guard let zone = try store.zone(containing: record) else { return .labFailed("\(record) is in no zone of \(storePath)") }
            let diff = try store.edit(zone: zone, names: [record]) { (recs: inout [ResourceRecord]) in
                let current = recs.filter { $0.name == record && $0.type == type }
                if current.count == 1 && current[0].rdata == rdata { return }
                let ttl = current.first?.ttl ?? 300
                recs.removeAll { $0.name == record && $0.type == type }
                recs.append(ResourceRecord(name: record, type: type, ttl: ttl, rdata: rdata))
            }
            return diff.isEmpty ? .labUnchanged(record: record.description, type: type.description, address: address.description)
                : .labSet(record: record.description, type: type.description, address: address.description, serial: diff.serial ?? 0)
        } catch {
            return .labFailed("cannot update \(record) in \(storePath): \(error)")
        }
    }

    /// Asks the running jamdns to drop its cached answers for `names`. A jamdns that is not running (or has
    /// no resolver) is not an error worth failing the cycle for: the line says what happened.
    public func flush(_ names: [String]) -> [String] {
        guard let controlSocket else { return [] }
        return names.map { n in
            switch Self.ask(controlSocket, "flush \(n)") {
            case .success(let answer): return answer.trimmingSpaces
            case .failure(let e): return e.message
            }
        }
    }

    static func ask(_ path: String, _ request: String) -> Result<String, DDNSConfigError> {
        do {
            guard let text = try ControlClient.ask(path, request) else {
                return .failure(DDNSConfigError(message: "jamdns not reachable at \(path) (\(String(cString: strerror(errno))))"))
            }
            return text.hasPrefix("error: ") ? .failure(DDNSConfigError(message: String(text.dropFirst(7)).trimmingSpaces)) : .success(text)
        } catch {
            return .failure(DDNSConfigError(message: error.message))
        }
    }
}

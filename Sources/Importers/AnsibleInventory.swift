import DNSWire

/// An Ansible INI inventory: every host line with `ansible_host=ADDRESS` becomes `<host>.<zone>` A or AAAA.
/// Group headers (`[group]`, `[group:children]`), group variables (`[group:vars]`) and hosts without an
/// address are not records; host ranges (`web[01:03]`) and `ansible_host` given as a name are noted.
/// Only the inventory file itself is read (host_vars/ directories are not).
public enum AnsibleInventory {
    public static func parse(_ text: String, file: String, zone: DNSName, ttl: UInt32 = 3600) -> ImportResult {
        var out = ImportResult()
        var section = ""
        var seen = Set<String>()
        for (n, line) in contentLines(text, comment: .afterBlank) {
            if line.hasPrefix("[") {
                section = line
                continue
            }
            if section.hasSuffix(":vars]") || section.hasSuffix(":children]") { continue }
            let w = line.words
            guard let host = w.first else { continue }
            var vars: [String: String] = [:]
            for kv in w.dropFirst() {
                guard let eq = kv.firstIndex(of: "=") else { continue }
                vars[String(kv[..<eq])] = String(kv[kv.index(after: eq)...]).trimmingQuotes
            }
            guard let address = vars["ansible_host"] else { continue }  // a host known by name: nothing to record
            if host.contains("[") {
                out.notes.append(ImportNote(file: file, line: n, text: line, reason: "host ranges are not expanded; list the hosts one per line"))
                continue
            }
            guard IPv4Address(address) != nil || IPv6Address(address) != nil else {
                out.notes.append(ImportNote(file: file, line: n, text: line, reason: "ansible_host '\(address)' is a name, not an address"))
                continue
            }
            guard let o = owner(host, zone: zone), let r = addressRecord(o, address, ttl: ttl) else {
                out.notes.append(ImportNote(file: file, line: n, text: line, reason: "\(host) is outside zone \(zone)"))
                continue
            }
            // A host listed in several groups is one host.
            if seen.insert(r.name.lowercased.description + " " + address).inserted { out.records.append(r) }
        }
        return out
    }
}

extension String {
    var trimmingQuotes: String {
        if count >= 2, (hasPrefix("\"") && hasSuffix("\"")) || (hasPrefix("'") && hasSuffix("'")) { return String(dropFirst().dropLast()) }
        return self
    }
}

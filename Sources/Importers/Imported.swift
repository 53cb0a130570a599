import DNSWire
import DNSZone

/// What an import made of a file: records for one zone, and every line it could not map, with the reason.
public struct ImportResult: Sendable {
    public var records: [ResourceRecord] = []
    public var notes: [ImportNote] = []
    public init() {}
}

/// A line that was skipped or only partly mapped: `file:line: text: reason`.
public struct ImportNote: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var text: String
    public var reason: String
    public var description: String { "\(file):\(line): \(text): \(reason)" }
}

/// Turns a host name from a hosts file, an inventory or dnsmasq into an owner in `zone`: a name already inside
/// the zone is kept; a single label goes under the zone; anything else is outside it (nil).
func owner(_ text: String, zone: DNSName) -> DNSName? {
    let t = text.hasSuffix(".") ? String(text.dropLast()) : text
    guard !t.isEmpty, let abs = try? DNSName(t + ".") else { return nil }
    if abs.isSubdomain(of: zone) { return abs }
    guard !t.contains("."), let rel = try? DNSName(t, origin: zone) else { return nil }
    return rel
}

/// An address record for `ip` (A or AAAA), or nil if it is neither.
func addressRecord(_ name: DNSName, _ ip: String, ttl: UInt32) -> ResourceRecord? {
    if let v4 = IPv4Address(ip) { return ResourceRecord(name: name, type: .a, ttl: ttl, rdata: .a(v4)) }
    if let v6 = IPv6Address(ip) { return ResourceRecord(name: name, type: .aaaa, ttl: ttl, rdata: .aaaa(v6)) }
    return nil
}

/// One record from RDATA in zone-file syntax (relative names are under `zone`).
func parsedRecord(_ name: DNSName, _ type: RRType, _ rdata: String, ttl: UInt32, zone: DNSName) -> ResourceRecord? {
    guard let rd = try? RData.parse(text: rdata, type: type, origin: zone) else { return nil }
    return ResourceRecord(name: name, type: type, ttl: ttl, rdata: rd)
}

/// Lines without comments and surrounding blanks, numbered from 1. `comment` says where one starts: `.anywhere`
/// (hosts files: any `#`), `.afterBlank` (Ansible: a `#`/`;` line, or ` #` inside one), `.lineStart` (dnsmasq,
/// where `#` also separates an address from its port).
enum CommentStyle { case anywhere, afterBlank, lineStart }

func contentLines(_ text: String, comment: CommentStyle = .anywhere) -> [(Int, String)] {
    var out: [(Int, String)] = []
    for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
        var line = Substring(raw)
        let lead = line.trimmingCharacters(" \t\r")
        switch comment {
        case .anywhere:
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
        case .afterBlank:
            if lead.hasPrefix("#") || lead.hasPrefix(";") { continue }
            if let r = line.firstRange(of: " #") ?? line.firstRange(of: "\t#") { line = line[..<r.lowerBound] }
        case .lineStart:
            if lead.hasPrefix("#") { continue }
        }
        let trimmed = line.trimmingCharacters(" \t\r")
        if !trimmed.isEmpty { out.append((i + 1, trimmed)) }
    }
    return out
}

extension Substring {
    func trimmingCharacters(_ set: String) -> String {
        var s = self
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}

extension String {
    var words: [String] { split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init) }
}

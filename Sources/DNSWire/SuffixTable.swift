/// Names mapped to values and looked up by the longest of them a query name is at or below: the zone a name
/// is in, the forward rule that applies, the "resolve upstream" mark above it. One walk over the label counts
/// present (longest first), one hash lookup each; no allocation besides the suffix names.
public struct SuffixTable<Value: Sendable>: Sendable {
    public private(set) var entries: [DNSName: Value]
    /// The label counts of the names present, longest first.
    var depths: [Int]

    public init(_ pairs: [(DNSName, Value)] = []) {
        var map: [DNSName: Value] = [:]
        for (n, v) in pairs { map[n] = v }
        entries = map
        depths = Set(map.keys.map(\.labelCount)).sorted(by: >)
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }
    public subscript(_ name: DNSName) -> Value? { entries[name] }

    /// The longest name in the table that `name` is equal to or below, with its value.
    @inline(__always) public func longest(containing name: DNSName) -> (name: DNSName, value: Value)? {
        guard !entries.isEmpty else { return nil }
        var w = walk(name)
        return w.next(in: self)
    }

    /// The names in the table that `name` is equal to or below, longest first, one per `next`: a walk that
    /// can stop once it has what it needs and go on later from where it stopped.
    public struct Walk {
        let name: DNSName
        let labels: Int
        var index = 0

        public mutating func next(in table: SuffixTable) -> (name: DNSName, value: Value)? {
            while index < table.depths.count {
                let d = table.depths[index]
                index += 1
                guard d <= labels else { continue }
                let s = name.suffix(labels: d)
                if let v = table.entries[s] { return (s, v) }
            }
            return nil
        }
    }

    @inline(__always) public func walk(_ name: DNSName) -> Walk { Walk(name: name, labels: name.labelCount) }
}

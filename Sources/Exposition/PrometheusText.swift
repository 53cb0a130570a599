/// Builds the Prometheus text exposition format (version 0.0.4): `# HELP`/`# TYPE` once per family, then its
/// samples. Label values are escaped as the format asks (backslash, quote, newline).
public struct PrometheusText: Sendable {
    public private(set) var text = ""

    public init() {}

    public enum Kind: String, Sendable { case counter, gauge, histogram }

    /// One family header. Call before its samples.
    public mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(kind.rawValue)\n"
    }

    /// One sample line: `name{k="v",...} value`.
    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: UInt64) {
        sample(name, labels, Double(value))
    }

    /// A whole histogram from cumulative-free bucket counts: `bounds[i]` is bucket i's upper bound; `counts` has
    /// one more element than `bounds` (the +Inf bucket). `sum` is in the bounds' unit.
    public mutating func histogram(_ name: String, _ labels: [(String, String)], bounds: [Double], counts: [UInt64], sum: Double) {
        var running: UInt64 = 0
        for (i, b) in bounds.enumerated() {
            running += counts[i]
            sample(name + "_bucket", labels + [("le", Self.format(b))], running)
        }
        running += counts[bounds.count]
        sample(name + "_bucket", labels + [("le", "+Inf")], running)
        sample(name + "_sum", labels, sum)
        sample(name + "_count", labels, running)
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    /// Integers without a fraction; others in plain decimal.
    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}

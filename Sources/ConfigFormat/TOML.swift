/// A strict reader for the TOML subset the config uses: `[table]` headers, `key = value` with basic strings,
/// integers, booleans and (possibly multi-line) arrays of those, and `#` comments. Anything else is an error
/// naming the line, so a typo never silently falls back to a default.
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case boolean(Bool)
    case array([TOMLValue])
}

public struct TOMLError: Error, Sendable, CustomStringConvertible, Equatable {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// Keys as "table.key", each with the line it was set on.
public struct TOMLDocument: Sendable {
    public var values: [String: (TOMLValue, Int)] = [:]
    /// Every `[table]` header with its line, empty tables included (so "a table without its keys" can be
    /// reported at its line).
    public var tables: [String: Int] = [:]

    public static func parse(_ text: String) throws(TOMLError) -> TOMLDocument {
        var doc = TOMLDocument()
        var table = ""
        var tables: Set<String> = []
        // CRLF files (edited on Windows, or pasted) read like LF ones: "\r\n" is one Character in Swift, so it
        // is a separator of its own.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map { l -> [UInt8] in
            var b = Array(l.utf8)
            if b.last == UInt8(ascii: "\r") { b.removeLast() }
            return b
        }
        var i = 0
        while i < lines.count {
            let lineNo = i + 1
            var p = Cursor(bytes: lines[i], line: lineNo)
            i += 1
            p.skipBlank()
            if p.atEndOrComment { continue }
            if p.peek == UInt8(ascii: "[") {
                p.advance()
                let name = try p.bareKey()
                guard p.peek == UInt8(ascii: "]") else { throw TOMLError(line: lineNo, message: "expected ']' after table name") }
                p.advance()
                p.skipBlank()
                guard p.atEndOrComment else { throw TOMLError(line: lineNo, message: "unexpected text after [\(name)]") }
                guard tables.insert(name).inserted else { throw TOMLError(line: lineNo, message: "table [\(name)] defined twice") }
                table = name
                doc.tables[name] = lineNo
                continue
            }
            let key = try p.bareKey()
            p.skipBlank()
            guard p.peek == UInt8(ascii: "=") else { throw TOMLError(line: lineNo, message: "expected '=' after key '\(key)'") }
            p.advance()
            p.skipBlank()
            // Arrays may continue over following lines: join them until the brackets balance.
            var value: TOMLValue
            while true {
                var probe = p
                do {
                    value = try probe.value()
                    p = probe
                    break
                } catch {
                    guard p.bytes[p.pos...].contains(UInt8(ascii: "[")), i < lines.count, error.message.hasPrefix("unterminated array") else { throw error }
                    p.bytes = Self.stripComment(p.bytes) + [UInt8(ascii: " ")] + Self.stripComment(lines[i])
                    i += 1
                }
            }
            p.skipBlank()
            guard p.atEndOrComment else { throw TOMLError(line: lineNo, message: "unexpected text after the value of '\(key)'") }
            let full = table.isEmpty ? key : table + "." + key
            guard doc.values[full] == nil else { throw TOMLError(line: lineNo, message: "key '\(full)' set twice") }
            doc.values[full] = (value, lineNo)
        }
        return doc
    }

    /// A line without its `#` comment (a `#` inside a string is kept).
    static func stripComment(_ line: [UInt8]) -> [UInt8] {
        var inString = false
        var escaped = false
        for (i, c) in line.enumerated() {
            if escaped { escaped = false; continue }
            if inString && c == UInt8(ascii: "\\") { escaped = true; continue }
            if c == UInt8(ascii: "\"") { inString.toggle() }
            if c == UInt8(ascii: "#") && !inString { return Array(line[..<i]) }
        }
        return line
    }

    struct Cursor {
        var bytes: [UInt8]
        var pos = 0
        let line: Int
        init(bytes: [UInt8], line: Int) {
            self.bytes = bytes
            self.line = line
        }
        var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }
        mutating func advance() { pos += 1 }
        mutating func skipBlank() { while let c = peek, c == 0x20 || c == 0x09 || c == 0x0D { pos += 1 } }
        var atEndOrComment: Bool { peek == nil || peek == UInt8(ascii: "#") }
        func fail(_ m: String) -> TOMLError { TOMLError(line: line, message: m) }

        /// A key: bare parts (letters, digits, `_`, `-`, `.`) and quoted parts (`"consul."`, for names with
        /// dots), joined: `forward."consul."` stays one string with the quotes kept.
        mutating func bareKey() throws(TOMLError) -> String {
            var out = ""
            while true {
                if peek == UInt8(ascii: "\"") {
                    guard case .string(let s) = try value() else { throw fail("expected a key name") }
                    guard !s.isEmpty, !s.contains("\"") else { throw fail("bad quoted key") }
                    out += "\"" + s + "\""
                } else {
                    let start = pos
                    while let c = peek, (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F || c == 0x2D || c == 0x2E { pos += 1 }
                    guard pos > start else { break }
                    out += String(decoding: bytes[start..<pos], as: UTF8.self)
                }
                if peek != UInt8(ascii: "\"") && !(out.hasSuffix("\"") && peek == UInt8(ascii: ".")) { break }
            }
            guard !out.isEmpty else { throw fail("expected a key name") }
            return out
        }

        /// Arrays nest at most this deep: no key needs more than one level, and unbounded recursion on
        /// "[[[[..." would overflow the stack (found by ConfigFuzz).
        static let maxDepth = 8

        mutating func value(depth: Int = 0) throws(TOMLError) -> TOMLValue {
            guard let c = peek else { throw fail("missing value") }
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                var out: [UInt8] = []
                while true {
                    guard let d = peek else { throw fail("unterminated string") }
                    pos += 1
                    if d == UInt8(ascii: "\"") { break }
                    if d == UInt8(ascii: "\\") {
                        guard let e = peek else { throw fail("unterminated string") }
                        pos += 1
                        switch e {
                        case UInt8(ascii: "\""): out.append(e)
                        case UInt8(ascii: "\\"): out.append(e)
                        case UInt8(ascii: "n"): out.append(0x0A)
                        case UInt8(ascii: "t"): out.append(0x09)
                        default: throw fail("unsupported escape '\\\(Character(Unicode.Scalar(e)))' in string")
                        }
                    } else {
                        out.append(d)
                    }
                }
                return .string(String(decoding: out, as: UTF8.self))
            case UInt8(ascii: "["):
                guard depth < Self.maxDepth else { throw fail("arrays nested more than \(Self.maxDepth) deep") }
                pos += 1
                var items: [TOMLValue] = []
                while true {
                    skipBlank()
                    if peek == UInt8(ascii: "#") { throw fail("unterminated array") }
                    guard let d = peek else { throw fail("unterminated array") }
                    if d == UInt8(ascii: "]") {
                        pos += 1
                        return .array(items)
                    }
                    items.append(try value(depth: depth + 1))
                    skipBlank()
                    if peek == UInt8(ascii: ",") { pos += 1; continue }
                    skipBlank()
                    guard peek == UInt8(ascii: "]") || peek == nil else { throw fail("expected ',' or ']' in array") }
                }
            case UInt8(ascii: "t"), UInt8(ascii: "f"):
                let start = pos
                while let d = peek, d >= 0x61 && d <= 0x7A { pos += 1 }
                switch String(decoding: bytes[start..<pos], as: UTF8.self) {
                case "true": return .boolean(true)
                case "false": return .boolean(false)
                default: throw fail("expected true or false")
                }
            default:
                let start = pos
                if c == UInt8(ascii: "-") || c == UInt8(ascii: "+") { pos += 1 }
                while let d = peek, (d >= 0x30 && d <= 0x39) || d == 0x5F { pos += 1 }
                let text = String(decoding: bytes[start..<pos], as: UTF8.self).replacingOccurrences_("_")
                guard let v = Int64(text) else { throw fail("expected a value (\"string\", integer, true/false or [array])") }
                return .integer(v)
            }
        }
    }
}

extension String {
    fileprivate func replacingOccurrences_(_ s: Character) -> String { String(filter { $0 != s }) }
}

extension TOMLValue: CustomStringConvertible {
    /// The value as it would be written in the file, for error messages.
    public var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .integer(let i): String(i)
        case .boolean(let b): b ? "true" : "false"
        case .array(let a): "[" + a.map(\.description).joined(separator: ", ") + "]"
        }
    }
}

extension TOMLDocument {
    /// Typed reads, with the error every config reports the same way: "'key' must be …" at the key's line.
    /// A missing key is nil.
    public func integer(_ key: String, in range: ClosedRange<Int>) throws(TOMLError) -> Int? {
        guard let (v, line) = values[key] else { return nil }
        guard case .integer(let i) = v, range.contains(Int(i)) else {
            throw TOMLError(line: line, message: "'\(key)' must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(i)
    }

    public func boolean(_ key: String) throws(TOMLError) -> Bool? {
        guard let (v, line) = values[key] else { return nil }
        guard case .boolean(let b) = v else { throw TOMLError(line: line, message: "'\(key)' must be true or false") }
        return b
    }

    public func string(_ key: String) throws(TOMLError) -> String? {
        guard let (v, line) = values[key] else { return nil }
        guard case .string(let s) = v else { throw TOMLError(line: line, message: "'\(key)' must be a \"string\"") }
        return s
    }

    public func strings(_ key: String) throws(TOMLError) -> [String]? {
        guard let (v, line) = values[key] else { return nil }
        guard case .array(let items) = v else { throw TOMLError(line: line, message: "'\(key)' must be an array of strings") }
        var out: [String] = []
        for i in items {
            guard case .string(let s) = i else { throw TOMLError(line: line, message: "'\(key)' must be an array of strings") }
            out.append(s)
        }
        return out
    }

    /// The names of the quoted sub-tables of `table`, e.g. "consul." for `[forward."consul."]`, whether
    /// written as a table header or as dotted keys; each once, sorted.
    public func quotedSubtables(of table: String) -> [String] {
        let prefix = table + ".\""
        var names: Set<String> = []
        for key in Array(values.keys) + Array(tables.keys) where key.hasPrefix(prefix) {
            let rest = key.dropFirst(prefix.count)
            guard let close = rest.firstIndex(of: "\"") else { continue }
            names.insert(String(rest[..<close]))
        }
        return names.sorted()
    }
}

extension TOMLDocument {
    /// "unknown key 'lsten' in [server] (did you mean 'listen'? keys there: listen, udp_workers, ...)":
    /// `known` holds full keys ("server.listen"); the suggestion is the nearest known key of that section.
    /// `table` names the section as the file spelled it when that differs from the key's first part
    /// (`[zone."lab."]` for the keys checked as `zone.*`).
    public static func unknownKeyMessage(_ key: String, known: [String], table: String? = nil) -> String {
        let dot = key.firstIndex(of: ".")
        let section = dot.map { String(key[..<$0]) } ?? ""
        let field = dot.map { String(key[key.index(after: $0)...]) } ?? key
        let here = known.filter { k in section.isEmpty ? !k.contains(".") : k.hasPrefix(section + ".") }
            .map { section.isEmpty ? $0 : String($0.dropFirst(section.count + 1)) }.sorted()
        guard !here.isEmpty else {
            let sections = Set(known.compactMap { $0.split(separator: ".").first.map(String.init) }).sorted()
            return "unknown section [\(section)] for '\(key)' (sections: \(sections.map { "[\($0)]" }.joined(separator: ", ")))"
        }
        let near = here.min { distance($0, field) < distance($1, field) }
        let hint = near.flatMap { distance($0, field) <= max(2, field.count / 3) ? "did you mean '\($0)'? " : nil } ?? ""
        return "unknown key '\(field)' in \(table ?? "[\(section)]") (\(hint)keys there: \(here.joined(separator: ", ")))"
    }

    /// Levenshtein distance, for suggestions.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard !x.isEmpty else { return y.count }
        var row = Array(0...y.count)
        for i in 1...x.count {
            var prev = row[0]
            row[0] = i
            for j in stride(from: 1, through: y.count, by: 1) {
                let cur = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (x[i - 1] == y[j - 1] ? 0 : 1))
                prev = cur
            }
        }
        return row[y.count]
    }
}

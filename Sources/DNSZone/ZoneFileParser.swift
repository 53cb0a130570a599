import DNSWire

/// A zone-file error at `file:line:column`: what was found and what was expected.
public struct ZoneParseError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public init(file: String, line: Int, column: Int, _ message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }
    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// A record read from a zone file, with the place it came from (for later error messages).
public struct ParsedRecord: Sendable {
    public var record: ResourceRecord
    public var file: String
    public var line: Int
}

/// Reads the bytes of an `$INCLUDE`d file; given the confined path the parser resolved.
public typealias IncludeLoader = @Sendable (_ path: String) throws -> [UInt8]

/// RFC 1035 §5 master-file parser, as an iterator: `while let r = try p.next() { … }`.
/// Supports $ORIGIN, $TTL, $INCLUDE (confined to the zone file's directory, depth ≤ 7), "@", relative names,
/// omitted owner/TTL/class, parentheses across lines, quoted strings with escapes, comments and RFC 3597 rdata.
public struct ZoneFileParser {
    public static let maxIncludeDepth = 7
    /// Bound on a single logical line (tokens across parentheses), against runaway input.
    public static let maxTokensPerEntry = 4096

    struct Frame {
        var lexer: Lexer
        var origin: DNSName?
        var file: String
        var directory: String
    }

    var stack: [Frame] = []
    var defaultTTL: UInt32?
    var lastTTL: UInt32?
    var lastOwner: DNSName?
    let includeLoader: IncludeLoader?
    let includeRoot: String

    /// - Parameters:
    ///   - includeRoot: directory that `$INCLUDE` paths must stay inside (normally the zone file's directory).
    ///   - includeLoader: nil disables `$INCLUDE`.
    public init(text: [UInt8], file: String, origin: DNSName?, defaultTTL: UInt32? = nil,
                includeRoot: String = ".", includeLoader: IncludeLoader? = nil) {
        stack = [Frame(lexer: Lexer(text), origin: origin, file: file, directory: includeRoot)]
        self.defaultTTL = defaultTTL
        self.includeLoader = includeLoader
        self.includeRoot = includeRoot
    }

    public init(text: String, file: String = "<text>", origin: DNSName?, defaultTTL: UInt32? = nil) {
        self.init(text: Array(text.utf8), file: file, origin: origin, defaultTTL: defaultTTL)
    }

    /// Parses everything into a list.
    public mutating func all() throws(ZoneParseError) -> [ParsedRecord] {
        var out: [ParsedRecord] = []
        while let r = try next() { out.append(r) }
        return out
    }

    public mutating func next() throws(ZoneParseError) -> ParsedRecord? {
        while !stack.isEmpty {
            let top = stack.count - 1
            let file = stack[top].file
            let entry: Lexer.Entry?
            do {
                entry = try stack[top].lexer.nextEntry()
            } catch {
                throw ZoneParseError(file: file, line: error.line, column: error.column, error.message)
            }
            guard let entry else {
                stack.removeLast()
                continue
            }
            if let r = try handle(entry, frame: top) { return r }
        }
        return nil
    }

    func fail(_ t: TextToken, _ frame: Int, _ msg: String) -> ZoneParseError {
        ZoneParseError(file: stack[frame].file, line: t.line, column: t.column, msg)
    }

    mutating func handle(_ e: Lexer.Entry, frame: Int) throws(ZoneParseError) -> ParsedRecord? {
        var toks = e.tokens
        guard let first = toks.first else { return nil }
        let file = stack[frame].file
        if !e.startsWithBlank, !first.quoted, first.bytes.first == UInt8(ascii: "$") {
            let directive = first.text.uppercased()
            switch directive {
            case "$ORIGIN":
                guard toks.count == 2 else { throw fail(first, frame, "$ORIGIN takes exactly one absolute name") }
                guard toks[1].bytes.last == UInt8(ascii: ".") else { throw fail(toks[1], frame, "$ORIGIN must be absolute (end with '.'), found '\(toks[1].text)'") }
                do { stack[frame].origin = try DNSName(presentation: toks[1].bytes, origin: nil) } catch {
                    throw fail(toks[1], frame, "bad $ORIGIN '\(toks[1].text)': \(error.context)")
                }
            case "$TTL":
                guard toks.count == 2 else { throw fail(first, frame, "$TTL takes exactly one value") }
                guard let ttl = parseDuration(toks[1].bytes), ttl <= Int32.max else {
                    throw fail(toks[1], frame, "expected a TTL (0-2147483647 or 1h/1d/1w form), found '\(toks[1].text)'")
                }
                defaultTTL = ttl
            case "$INCLUDE":
                guard toks.count == 2 || toks.count == 3 else { throw fail(first, frame, "$INCLUDE takes a file name and an optional origin") }
                guard let loader = includeLoader else { throw fail(first, frame, "$INCLUDE is not allowed here") }
                guard stack.count <= Self.maxIncludeDepth else { throw fail(first, frame, "$INCLUDE nested deeper than \(Self.maxIncludeDepth)") }
                guard let path = Self.confine(toks[1].text, root: includeRoot, relativeTo: stack[frame].directory) else {
                    throw fail(toks[1], frame, "$INCLUDE '\(toks[1].text)' leaves the zone's directory \(includeRoot)")
                }
                var origin = stack[frame].origin
                if toks.count == 3 {
                    do { origin = try DNSName(presentation: toks[2].bytes, origin: origin) } catch {
                        throw fail(toks[2], frame, "bad $INCLUDE origin: \(error.context)")
                    }
                }
                let bytes: [UInt8]
                do { bytes = try loader(path) } catch { throw fail(toks[1], frame, "cannot read $INCLUDE file '\(path)': \(error)") }
                let dir = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
                stack.append(Frame(lexer: Lexer(bytes), origin: origin, file: path, directory: dir.isEmpty ? "." : dir))
            case "$GENERATE":
                throw fail(first, frame, "$GENERATE is not supported; list the records explicitly")
            default:
                throw fail(first, frame, "unknown directive '\(first.text)' (expected $ORIGIN, $TTL or $INCLUDE)")
            }
            return nil
        }

        let origin = stack[frame].origin
        var owner: DNSName
        if e.startsWithBlank {
            guard let last = lastOwner else { throw fail(first, frame, "record with no owner name and no previous owner") }
            owner = last
        } else {
            let t = toks.removeFirst()
            do { owner = try DNSName(presentation: t.bytes, origin: origin) } catch {
                throw fail(t, frame, "bad owner name '\(t.text)': \(error.context)")
            }
        }
        var ttl: UInt32?
        var cls: RRClass?
        var typeTok: TextToken?
        for _ in 0..<3 {
            guard !toks.isEmpty else { break }
            let t = toks.removeFirst()
            if cls == nil, !t.quoted, let c = RRClass(text: t.bytes) {
                cls = c
            } else if ttl == nil, !t.quoted, t.bytes.first.map({ $0 >= 0x30 && $0 <= 0x39 }) == true {
                guard let v = parseDuration(t.bytes), v <= Int32.max else {
                    throw fail(t, frame, "expected a TTL (0-2147483647), found '\(t.text)'")
                }
                ttl = v
            } else {
                typeTok = t
                break
            }
        }
        guard let typeTok else {
            let at = e.tokens.last ?? first
            throw fail(at, frame, "expected a record type after the owner, TTL and class")
        }
        guard let type = RRType(text: typeTok.bytes) else {
            throw fail(typeTok, frame, "unknown record type '\(typeTok.text)' (use TYPEnnn with \\# for unknown types)")
        }
        guard !type.isMetaOrQuery else { throw fail(typeTok, frame, "type \(type) cannot appear in a zone") }
        if let cls, cls != .in { throw fail(typeTok, frame, "class \(cls) is not served; only IN") }
        let rdata: RData
        do { rdata = try RData.parse(type: type, tokens: toks, origin: origin) } catch {
            let at = error.tokenIndex.flatMap { $0 < toks.count ? toks[$0] : nil } ?? (toks.last ?? typeTok)
            throw fail(at, frame, "\(type) record: \(error.message)")
        }
        if ttl == nil {
            if let d = defaultTTL { ttl = d } else if let l = lastTTL { ttl = l } else if case .soa(let s) = rdata { ttl = s.minimum } else {
                throw fail(first, frame, "no TTL on this record and no $TTL before it")
            }
        }
        let finalTTL = ttl ?? 0
        lastTTL = finalTTL
        lastOwner = owner
        return ParsedRecord(record: ResourceRecord(name: owner, type: type, ttl: finalTTL, rdata: rdata), file: file, line: first.line)
    }

    /// Resolves an include path lexically and refuses anything that leaves `root` (absolute paths elsewhere, "..").
    /// The loader must still check symlinks with realpath.
    static func confine(_ path: String, root: String, relativeTo dir: String) -> String? {
        let joined = path.hasPrefix("/") ? path : dir + "/" + path
        var parts: [Substring] = []
        for p in joined.split(separator: "/") {
            if p == "." || p.isEmpty { continue }
            if p == ".." {
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            } else {
                parts.append(p)
            }
        }
        let rootParts = root.split(separator: "/").filter { $0 != "." && !$0.isEmpty }
        guard parts.count > rootParts.count, Array(parts.prefix(rootParts.count)) == rootParts else { return nil }
        return (joined.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }
}

/// Splits master-file text into logical entries (one per line, or across parentheses), tracking line and column.
struct Lexer {
    struct Entry {
        var tokens: [TextToken]
        var startsWithBlank: Bool
    }
    struct Failure: Error {
        var line: Int, column: Int, message: String
    }

    let text: [UInt8]
    var pos = 0
    var line = 1
    var lineStart = 0

    init(_ text: [UInt8]) { self.text = text }

    mutating func nextEntry() throws(Failure) -> Entry? {
        while pos < text.count {
            var tokens: [TextToken] = []
            tokens.reserveCapacity(8)  // one allocation for a usual line, not three
            let startsWithBlank = text[pos] == 0x20 || text[pos] == 0x09
            var depth = 0
            var parenLine = 0, parenCol = 0
            lineLoop: while pos < text.count {
                let c = text[pos]
                switch c {
                case 0x20, 0x09, 0x0D:
                    pos += 1
                case 0x0A:
                    pos += 1
                    line += 1
                    lineStart = pos
                    if depth == 0 { break lineLoop }
                case UInt8(ascii: ";"):
                    while pos < text.count && text[pos] != 0x0A { pos += 1 }
                case UInt8(ascii: "("):
                    if depth == 0 { parenLine = line; parenCol = pos - lineStart + 1 }
                    depth += 1
                    guard depth <= 1 else { throw Failure(line: line, column: pos - lineStart + 1, message: "nested '('") }
                    pos += 1
                case UInt8(ascii: ")"):
                    guard depth > 0 else { throw Failure(line: line, column: pos - lineStart + 1, message: "')' without '('") }
                    depth -= 1
                    pos += 1
                default:
                    guard tokens.count < ZoneFileParser.maxTokensPerEntry else {
                        throw Failure(line: line, column: pos - lineStart + 1, message: "too many tokens in one entry")
                    }
                    tokens.append(try token())
                }
            }
            if depth > 0 { throw Failure(line: parenLine, column: parenCol, message: "'(' is never closed") }
            if !tokens.isEmpty { return Entry(tokens: tokens, startsWithBlank: startsWithBlank) }
        }
        return nil
    }

    /// One token: a quoted string, or a run of non-blank bytes. Escapes stay in the bytes; a quote inside a
    /// bare token (SVCB `alpn="h2,h3"`) quotes that part.
    mutating func token() throws(Failure) -> TextToken {
        let col = pos - lineStart + 1
        let ln = line
        var out: [UInt8] = []
        var quoted = false
        var inQuote = false
        if text[pos] == UInt8(ascii: "\"") {
            quoted = true
            inQuote = true
            pos += 1
        }
        while pos < text.count {
            let c = text[pos]
            if c == UInt8(ascii: "\\") {
                guard pos + 1 < text.count else { throw Failure(line: line, column: pos - lineStart + 1, message: "backslash at end of file") }
                out.append(c)
                out.append(text[pos + 1])
                if text[pos + 1] == 0x0A { line += 1; lineStart = pos + 2 }
                pos += 2
                continue
            }
            if inQuote {
                if c == UInt8(ascii: "\"") {
                    inQuote = false
                    pos += 1
                    if quoted { break }
                    continue
                }
                if c == 0x0A { throw Failure(line: ln, column: col, message: "quoted string not closed on its line") }
                out.append(c)
                pos += 1
                continue
            }
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: ";") || c == UInt8(ascii: "(") || c == UInt8(ascii: ")") {
                break
            }
            if c == UInt8(ascii: "\"") {
                inQuote = true
                pos += 1
                continue
            }
            out.append(c)
            pos += 1
        }
        if inQuote { throw Failure(line: ln, column: col, message: "quoted string not closed") }
        return TextToken(out, quoted: quoted, line: ln, column: col)
    }
}

extension RData {
    /// RDATA alone, in presentation format, as `dnsctl record add` and the importers take it: the zone-file
    /// lexer (quotes, escapes, parentheses) and the type's parser, without pretending a whole record line.
    /// Relative names are taken against `origin`; errors give the column within `text`.
    public static func parse(text: String, type: RRType, origin: DNSName?) throws(ZoneParseError) -> RData {
        var lexer = Lexer(Array(text.utf8))
        let entry: Lexer.Entry?
        do throws(Lexer.Failure) {
            entry = try lexer.nextEntry()
            if try lexer.nextEntry() != nil { throw Lexer.Failure(line: 2, column: 1, message: "RDATA must be one line") }
        } catch {
            throw ZoneParseError(file: "<rdata>", line: error.line, column: error.column, error.message)
        }
        let toks = entry?.tokens ?? []
        do { return try RData.parse(type: type, tokens: toks, origin: origin) } catch {
            let at = error.tokenIndex.flatMap { $0 < toks.count ? toks[$0] : nil } ?? toks.last
            throw ZoneParseError(file: "<rdata>", line: at?.line ?? 1, column: at?.column ?? 1, "\(type) record: \(error.message)")
        }
    }
}

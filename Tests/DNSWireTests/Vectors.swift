#if canImport(Glibc)
import Glibc
#endif

/// Loads Tests/Vectors/*.hex (hex lines, ';' comments).
enum Vectors {
    static let dir: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(2)
        return parts.joined(separator: "/") + "/Vectors"
    }()

    static func names(suffix: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let n = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if n.hasSuffix(suffix) { out.append(String(n.dropLast(suffix.count))) }
        }
        return out.sorted()
    }

    static func load(_ file: String) -> [UInt8] {
        guard let f = fopen(dir + "/" + file, "r") else { return [] }
        defer { fclose(f) }
        var text: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            text += buf[0..<n]
            if n < buf.count { break }
        }
        var out: [UInt8] = []
        for line in text.split(separator: 0x0A) where line.first != UInt8(ascii: ";") {
            var nib: UInt8? = nil
            for c in line {
                let v: UInt8
                switch c {
                case 0x30...0x39: v = c - 0x30
                case 0x61...0x66: v = c - 0x61 + 10
                default: continue
                }
                if let h = nib { out.append(h << 4 | v); nib = nil } else { nib = v }
            }
        }
        return out
    }
}

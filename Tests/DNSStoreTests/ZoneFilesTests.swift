import DNSWire
import DNSZone
import Testing
@testable import DNSStore

#if canImport(Glibc)
import Glibc
#endif

/// `$INCLUDE` has one rule whether the zone file is named by a relative or an absolute path: the included
/// file, relative or absolute, must be inside the zone file's directory, with symlinks followed.
@Suite struct ZoneFilesTests {
    static func write(_ path: String, _ text: String) {
        let f = fopen(path, "w")!
        fputs(text, f)
        fclose(f)
    }

    /// Every record the producer for `path` hands over.
    static func records(_ path: String) throws -> [ResourceRecord] {
        let (_, produce) = try ZoneFiles.producer(path: path, origin: nil)
        let got = Batches()
        try produce { (b) throws(StoreError) in got.list.append(b) }
        return got.list.flatMap { $0 }
    }

    final class Batches { var list: [[ResourceRecord]] = [] }

    /// `abs` as a relative path from the working directory ("../../tmp/...").
    static func relative(_ abs: String) -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let cwd = String(cString: getcwd(&buf, buf.count)!)
        let ups = cwd.split(separator: "/").count
        return String(repeating: "../", count: ups) + abs.dropFirst()
    }

    @Test("the same includes are accepted and refused whether the zone file is named relatively or absolutely",
          arguments: [false, true])
    func oneRule(namedRelatively: Bool) throws {
        let dir = String(tempPath("include").dropLast("/store.sqlite".count))
        let real = try #require(ZoneFiles.realPath(dir))
        Self.write(real + "/hosts.inc", "www A 192.0.2.80\n")
        Self.write(real + "/../outside-\(getpid()).inc", "evil A 192.0.2.66\n")
        symlink(real + "/../outside-\(getpid()).inc", real + "/link.inc")
        let head = "$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"
        let cases: [(String, Bool)] = [
            ("hosts.inc", true), ("./hosts.inc", true), (real + "/hosts.inc", true),
            ("../outside-\(getpid()).inc", false), (real + "/../outside-\(getpid()).inc", false), ("/etc/hostname", false),
            ("link.inc", false),
        ]
        for (i, (include, allowed)) in cases.enumerated() {
            let file = real + "/z\(i).test.zone"
            Self.write(file, head + "$INCLUDE \(include)\n")
            let named = namedRelatively ? Self.relative(file) : file
            if allowed {
                #expect(try Self.records(named).contains { $0.name.description == "www.z\(i).test." }, "\(include)")
            } else {
                #expect(throws: (any Error).self, "\(include) named \(named)") { try Self.records(named) }
            }
        }
    }
}

@Suite struct ZoneFilesProducerTests {
    @Test("a zone file longer than one batch is handed over in batches of ZoneBuilder.batchSize, the records its text parses to; an owner outside the zone in a later batch is an error naming file and line")
    func batches() throws {
        let dir = String(tempPath("producer").dropLast("/store.sqlite".count))
        let hosts = ZoneBuilder.batchSize + 1000
        var text = "$TTL 60\n@ SOA ns h 1 1 1 1 1\n@ NS ns\nns A 192.0.2.1\n"
        for i in 0..<hosts { text += "h\(i) A 10.\((i >> 16) & 255).\((i >> 8) & 255).\(i & 255)\n" }
        ZoneFilesTests.write(dir + "/big.test.zone", text)
        let (origin, produce) = try ZoneFiles.producer(path: dir + "/big.test.zone", origin: nil)
        #expect(origin.description == "big.test.")
        let batches = ZoneFilesTests.Batches()
        try produce { (b) throws(StoreError) in batches.list.append(b) }
        #expect(batches.list.map(\.count) == [ZoneBuilder.batchSize, hosts + 3 - ZoneBuilder.batchSize])
        var parser = ZoneFileParser(text: text, origin: origin)
        #expect(batches.list.flatMap { $0 } == (try parser.all()).map(\.record))

        ZoneFilesTests.write(dir + "/out.test.zone", text + "stray.other.test. A 192.0.2.9\n")
        let (_, stray) = try ZoneFiles.producer(path: dir + "/out.test.zone", origin: nil)
        let e = #expect(throws: StoreError.self) { try stray { (_) throws(StoreError) in } }
        #expect(e?.message == "\(dir)/out.test.zone:\(hosts + 5): owner stray.other.test. is outside zone out.test.; fix the name or $ORIGIN")
        #expect(throws: StoreError.self) { try ZoneFiles.producer(path: dir + "/noname", origin: nil) }
    }

}

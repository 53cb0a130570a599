import DNSWire
import Testing
@testable import DNSZone

@Suite struct ZoneFileWriterTests {
    @Test("export → parse gives the same records; export is canonical (stable)")
    func roundTrip() throws {
        let text = """
            $ORIGIN z.test.
            $TTL 60
            @ SOA ns h 1 1 1 1 1
            @ NS ns
            ns A 192.0.2.1
            t TXT "a b" "c\\"d"
            h HTTPS 1 . alpn="h2" port=443
            u TYPE65280 \\# 2 abcd
            Mixed.Case A 192.0.2.2
            """
        var p = ZoneFileParser(text: text, origin: nil)
        let recs = try p.all().map(\.record)
        let out = ZoneFileWriter.write(recs, origin: try DNSName("z.test."))
        var q = ZoneFileParser(text: out, origin: nil)
        let back = try q.all().map(\.record)
        #expect(Set(back) == Set(recs))
        #expect(ZoneFileWriter.write(back.shuffled(), origin: try DNSName("z.test.")) == out)
        #expect(out.hasPrefix("$ORIGIN z.test.\n$TTL 60\n@"))
        #expect(out.contains("Mixed.Case"))
    }
}

import Testing
import TestSupport
@testable import DNSZone

/// Replays the zone-file fuzz property on the fixtures and on mutations of them.
@Suite struct ZoneFuzzCorpusTests {
    @Test func mutationsNeverTrap() {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let root = parts.joined(separator: "/")
        var rng = SeededRandom(default: 0x5A0E_F11E)
        for file in ["/zones/jamfox.dev.zone", "/Tests/Fixtures/example.test.zone"] {
            let base = readFile(root + file)
            ZoneFuzzChecks.zoneText(base)
            for _ in 0..<200 {
                var b = base
                for _ in 0..<Int.random(in: 1...6, using: &rng) {
                    let byte: [UInt8] = [0x28, 0x29, 0x22, 0x5C, 0x3B, 0x0A, 0x20, 0x24, 0x40, UInt8.random(in: 0...255, using: &rng)]
                    b[Int.random(in: 0..<b.count, using: &rng)] = byte.randomElement(using: &rng)!
                }
                ZoneFuzzChecks.zoneText(b)
            }
        }
    }
}

/// Inputs the fuzzers found, kept as named regressions.
@Suite struct ZoneFuzzRegressionTests {
    /// ZoneFileFuzz, 2026-11-21: an alpn id with invalid UTF-8 (0x81) came back as U+FFFD after print → parse.
    @Test func alpnWithInvalidUTF8SurvivesTextRoundTrip() {
        let line: [UInt8] = Array("$TTL 60\nsvc HTTPS 1 . alpn=\"h2,h; Differ".utf8) + [0x81, 0x11, 0, 0, 0, 0, 0, 0] + Array("\" port=8443\n".utf8)
        ZoneFuzzChecks.zoneText(line)
    }

    /// ZoneFileFuzz, 2026-12-02: `DS \# 4 0a000001` is a DS with an empty digest; its typed text "2560 0 1 " does
    /// not parse back. RDATA whose typed text would drop a field is printed in the generic form (RFC 3597 §5).
    @Test("known types whose trailing field is empty print in generic form and come back the same",
          arguments: ["DS \\# 4 0a000001", "CDS \\# 4 0a000001", "SSHFP \\# 2 0101", "TLSA \\# 3 030101",
                      "DNSKEY \\# 4 01010308", "CDNSKEY \\# 4 01010308", "TXT \\# 0",
                      "RRSIG \\# 19 0001080200000e1000000001000000010001 00"])
    func emptyTrailingFieldSurvivesTextRoundTrip(rdata: String) {
        ZoneFuzzChecks.zoneText(Array("$TTL 60\nx \(rdata)\n".utf8))
    }

    /// ZoneFileFuzz, 2026-12-02: NSEC types listed out of order and twice parsed into a list that printed
    /// sorted and so came back different; the types are a set (the wire bitmap), kept in type order, once each.
    @Test func nsecTypesOutOfOrderAndRepeatedSurviveTextRoundTrip() {
        ZoneFuzzChecks.zoneText(Array("$TTL 60\nx NSEC x9 SRV NS RRSIG NSEC NS\n".utf8))
    }

    @Test func alpnWithCommaAndBackslashSurvivesTextRoundTrip() {
        ZoneFuzzChecks.zoneText(Array(#"$TTL 60\#nsvc HTTPS 1 . alpn="a\\,b,c\092d,e\"f" port=1\#n"#.utf8))
    }
}

import Testing
@testable import DNSZone

/// Replays the zone-file fuzz property on the fixtures and on mutations of them.
@Suite struct ZoneFuzzCorpusTests {
    @Test func mutationsNeverTrap() {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let root = parts.joined(separator: "/")
        for file in ["/zones/jamfox.dev.zone", "/Tests/Fixtures/example.test.zone"] {
            let base = readFile(root + file)
            ZoneFuzzChecks.zoneText(base)
            for _ in 0..<200 {
                var b = base
                for _ in 0..<Int.random(in: 1...6) { b[Int.random(in: 0..<b.count)] = [0x28, 0x29, 0x22, 0x5C, 0x3B, 0x0A, 0x20, 0x24, 0x40, UInt8.random(in: 0...255)].randomElement()! }
                ZoneFuzzChecks.zoneText(b)
            }
        }
    }
}

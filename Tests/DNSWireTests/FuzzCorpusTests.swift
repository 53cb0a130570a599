import Testing
import TestSupport
@testable import DNSWire

/// `swift test` replays the fuzz property over the seed corpus (the vectors) and every saved crasher,
/// as Knot's check_fuzzers does.
@Suite struct FuzzCorpusTests {
    @Test("the message fuzz property holds on every vector and regression input", arguments: Vectors.names(suffix: ".hex"))
    func replay(name: String) {
        FuzzChecks.message(Vectors.load(name + ".hex"))
    }

    @Test("the mutations can be run again: one seed draws the same numbers")
    func seededDraws() {
        var a = SeededRandom(default: 1), b = SeededRandom(default: 1)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() } && Set(first).count == 8)
    }

    @Test("mutations of the vectors never trap")
    func mutations() {
        var rng = SeededRandom(default: 0x5EED_3E55)
        for name in Vectors.names(suffix: ".hex") {
            let base = Vectors.load(name + ".hex")
            for _ in 0..<300 {
                var b = base
                for _ in 0..<Int.random(in: 1...4, using: &rng) { b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                FuzzChecks.message(b)
            }
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The generator fuzz replays draw their mutations from (SplitMix64): one seed, the same inputs, so a failure
/// seen once runs again. The seed is the test's own constant; `JAMDNS_TEST_SEED` (decimal) replaces it, to look
/// beyond the inputs the constant gives. Tests name the seed in what they record.
public struct SeededRandom: RandomNumberGenerator {
    public let seed: UInt64
    private var state: UInt64

    public init(default seed: UInt64) {
        let chosen = getenv("JAMDNS_TEST_SEED").flatMap { UInt64(String(cString: $0)) } ?? seed
        self.seed = chosen
        state = chosen
    }

    /// A number in 0..<n.
    public mutating func next(below n: Int) -> Int { Int.random(in: 0..<n, using: &self) }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The release every binary reports with `--version` (one place, so the three cannot disagree).
public enum JamVersion {
    public static let number = "0.9.0"
    public static func line(_ program: String) -> String { "\(program) \(number) (JamDNS)" }
}

/// Takes every configured secret out of a text before it is printed, saved or served: a provider's error
/// message may echo what it was sent (a token in a URL it rejects, a password in a form field).
public struct Redactor: Sendable {
    /// Each secret as it may appear in a text: as is, and percent-encoded as the providers send it in a
    /// query string (`percentEncoded`, the same function); longest first, so a form that contains another is replaced whole.
    let forms: [String]

    public init(_ secrets: [Secret]) {
        var forms: Set<String> = []
        // A secret this short could only be a mistake, and replacing it would shred every message.
        for s in secrets.map(\.value) where s.utf8.count >= 4 {
            forms.insert(s)
            forms.insert(percentEncoded(s))
        }
        self.forms = forms.sorted { $0.utf8.count > $1.utf8.count }
    }

    public func callAsFunction(_ text: String) -> String {
        var out = text
        for f in forms where out.contains(f) { out = out.replacing(f, with: "<secret>") }
        return out
    }
}

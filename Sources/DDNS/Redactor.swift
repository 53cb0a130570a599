/// Takes every configured secret out of a text before it is printed, saved or served: a provider's error
/// message may echo what it was sent (a token in a URL it rejects, a password in a form field).
public struct Redactor: Sendable {
    /// Each secret as it may appear in a text: as is, and percent-encoded (Namecheap sends it in a query
    /// string); longest first, so a form that contains another is replaced whole.
    let forms: [String]

    public init(_ secrets: [Secret]) {
        var forms: Set<String> = []
        // A secret this short could only be a mistake, and replacing it would shred every message.
        for s in secrets.map(\.value) where s.utf8.count >= 4 {
            forms.insert(s)
            forms.insert(Self.percentEncoded(s))
        }
        self.forms = forms.sorted { $0.utf8.count > $1.utf8.count }
    }

    public func callAsFunction(_ text: String) -> String {
        var out = text
        for f in forms where out.contains(f) { out = out.replacing(f, with: "<secret>") }
        return out
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters.
    static func percentEncoded(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let h = String(b, radix: 16, uppercase: true)
                out += "%" + (h.count == 1 ? "0" + h : h)
            }
        }
        return out
    }
}

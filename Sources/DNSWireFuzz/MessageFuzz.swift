import DNSWire

/// libFuzzer entry: any bytes must parse or throw (never trap), and whatever parses must survive
/// write → parse → write unchanged (hickory's round-trip property).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMessage(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    FuzzChecks.message(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

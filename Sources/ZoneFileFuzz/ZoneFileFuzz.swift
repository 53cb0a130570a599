import DNSZone

/// libFuzzer entry for the zone-file parser: any text must parse or fail with a located error, never trap or hang.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzZoneFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    ZoneFuzzChecks.zoneText(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

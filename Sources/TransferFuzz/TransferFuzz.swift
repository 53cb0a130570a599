import DNSWire
import DNSZone

/// libFuzzer entry: any bytes, cut into messages (two-byte length prefixes, as on a TCP stream), read as an
/// AXFR and as an IXFR answer for lab.test. must come back as a verdict or an error (never a trap), within the
/// reader's bounds. The seeds are transfers a primary sends.
let zone = try! DNSName("lab.test.")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTransfer(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var frames: [[UInt8]] = []
    var i = 0
    while i + 2 <= bytes.count {
        let n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
        i += 2
        frames.append(Array(bytes[i..<min(bytes.count, i + n)]))
        i += n
    }
    for (asked, ours) in [(RRType.axfr, UInt32?.none), (.ixfr, 5)] {
        var r = TransferReader(zone: zone, asked: asked, ours: ours, maxRecords: 10_000, maxBytes: 1 << 20)
        do {
            for f in frames where try r.add(f) { break }
            _ = try r.result()
        } catch {}
    }
    return 0
}

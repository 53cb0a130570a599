import DNSTSIG
import DNSWire

/// libFuzzer entry: any bytes, split at their TSIG and verified as a request and as an answer, must come back
/// as a result (never a trap). The seed is a query signed with this key (Tests/Fixtures/tsig-signed-query.hex).
let key = TSIGKey(name: try! DNSName("fuzz.key."), algorithm: .hmacSHA256, secret: Array("fuzz secret".utf8))

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTSIG(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let split = try? TSIG.split(bytes) else { return 0 }
    _ = TSIG.verify(split, keys: { $0 == key.name ? key : nil }, now: 1_795_262_400)
    _ = TSIG.verify(split, keys: { _ in key }, now: 1_795_262_400, requestMAC: Array(bytes.prefix(32)))
    _ = TSIG.sign(split.unsigned, key: key, time: 1_795_262_400, requestMAC: split.tsig.mac)
    return 0
}

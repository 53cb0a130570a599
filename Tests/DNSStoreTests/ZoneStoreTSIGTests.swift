import DNSTSIG
import DNSWire
import Testing
@testable import DNSStore

/// TSIG keys in the store (schema 8): kept with their secrets, listed, removed, each change journaled so the
/// server picks it up; errors name the key and never show a secret.
@Suite struct ZoneStoreTSIGTests {
    @Test("keys are added, read back byte for byte, refused twice, removed; each change is a settings entry")
    func keys() throws {
        let s = try ZoneStore(path: tempPath("tsig"))
        let k = try #require(TSIGKey.generate(name: try DNSName("Xfr.Jamfox.Dev."), algorithm: .hmacSHA512))
        #expect(k.secretLength == 64)
        let before = try s.lastChangeID()
        try s.addTSIGKey(k)
        #expect(try s.tsigKeys() == [k])
        #expect(try s.changes(after: before)?.map(\.kind) == [.settings])
        // The same name in another case is the same key.
        let again = TSIGKey(name: try DNSName("xfr.jamfox.dev."), algorithm: .hmacSHA256, secret: Array(repeating: 7, count: 32))
        do {
            try s.addTSIGKey(again)
            Issue.record("a second key of the same name was accepted")
        } catch {
            #expect(error.code == .exists && !error.message.contains(k.base64Secret))
        }
        try s.removeTSIGKey(try DNSName("xfr.jamfox.dev."))
        #expect(try s.tsigKeys().isEmpty)
        #expect(throws: StoreError(.notFound, "")) { try s.removeTSIGKey(try DNSName("xfr.jamfox.dev.")) }
    }

    @Test("a key whose algorithm the store does not know is reported as a damaged store, not skipped")
    func damagedKey() throws {
        let s = try ZoneStore(path: tempPath("tsig-bad"))
        try s.db.exec("INSERT INTO tsig_keys(name, name_key, algorithm, secret, created_at) VALUES ('k.', X'016b00', 'hmac-sha3', X'00', 0)")
        #expect(throws: StoreError(.corrupt, "")) { try s.tsigKeys() }
    }
}

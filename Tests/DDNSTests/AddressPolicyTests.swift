import Testing
@testable import DDNS

@Suite struct AddressPolicyTests {
    static let refusedV4 = ["10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.10.1", "100.64.0.1", "100.127.255.254",
                            "127.0.0.1", "169.254.1.1", "192.0.2.10", "198.51.100.7", "203.0.113.9", "198.18.0.1",
                            "224.0.0.1", "240.0.0.1", "0.1.2.3", "192.0.0.8", "not-an-ip", "1.2.3", ""]
    static let acceptedV4 = ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "198.20.0.1", "93.184.216.34"]
    static let refusedV6 = ["::1", "::", "fd12::1", "fc00::1", "fe80::1", "ff02::1", "2001:db8::1", "::ffff:8.8.8.8",
                            "2002:c000:0204::1", "2001::1", "3fff::1" /* outside 2000::/3? no: inside */, "4000::1", "1.1.1.1"]
    static let acceptedV6 = ["2a01:4f8::1", "2606:4700:4700::1111", "2001:4860:4860::8888"]

    @Test("IPv4: only global unicast", arguments: refusedV4)
    func refusesV4(_ a: String) {
        #expect(throws: AddressRejection.self) { try AddressPolicy().check(a, family: .v4) }
    }

    @Test("IPv4: global unicast accepted", arguments: acceptedV4)
    func acceptsV4(_ a: String) throws {
        #expect(try AddressPolicy().check(" \(a)\n", family: .v4).description == a)
    }

    @Test("IPv6: only global unicast", arguments: refusedV6.filter { $0 != "3fff::1" })
    func refusesV6(_ a: String) {
        #expect(throws: AddressRejection.self) { try AddressPolicy().check(a, family: .v6) }
    }

    @Test("IPv6: global unicast accepted", arguments: acceptedV6 + ["3fff::1"])
    func acceptsV6(_ a: String) throws {
        #expect(try AddressPolicy().check(a, family: .v6).family == .v6)
    }

    @Test("the family is never crossed: a v4 probe answering v6 (or the reverse) is refused")
    func family() {
        #expect(throws: AddressRejection.self) { try AddressPolicy().check("2606:4700::1", family: .v4) }
        #expect(throws: AddressRejection.self) { try AddressPolicy().check("1.1.1.1", family: .v6) }
    }

    @Test("CGNAT is refused with a reason that says what it means")
    func cgnatReason() {
        do {
            _ = try AddressPolicy().check("100.64.1.2", family: .v4)
            Issue.record("accepted")
        } catch {
            #expect(error.reason.contains("CGNAT"))
        }
    }

    @Test func allowNonGlobal() throws {
        #expect(try AddressPolicy(allowNonGlobal: true).check("192.168.10.1", family: .v4).description == "192.168.10.1")
    }
}

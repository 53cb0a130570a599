import DNSWire
import Testing
@testable import Importers

@Suite struct AnsibleInventoryTests {
    let zone = try! DNSName("jamfox.dev.")

    @Test("hosts with ansible_host become <host>.<zone>; groups, vars, children and name-only hosts are not records")
    func parse() {
        let text = """
            [pis]
            rpi0 ansible_host=192.168.10.50 ansible_user=pi
            rpi1 ansible_host="192.168.10.51"

            [servers]
            vs0 ansible_host=192.168.10.130
            rpi0 ansible_host=192.168.10.50   # listed twice: one host
            ; a comment
            web[01:03] ansible_host=192.168.10.90
            nas ansible_host=nas.lan
            localonly

            [servers:vars]
            ansible_host=10.0.0.1

            [lab:children]
            pis
            servers
            """
        let r = AnsibleInventory.parse(text, file: "inventory.ini", zone: zone)
        #expect(r.records.map { "\($0.name) \($0.rdata.presentation)" } == [
            "rpi0.jamfox.dev. 192.168.10.50", "rpi1.jamfox.dev. 192.168.10.51", "vs0.jamfox.dev. 192.168.10.130",
        ])
        #expect(r.notes.map(\.line) == [9, 10])
        #expect(r.notes[0].reason.contains("ranges") && r.notes[1].reason.contains("is a name"))
    }
}

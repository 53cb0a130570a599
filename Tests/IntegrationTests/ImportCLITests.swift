import DNSWire
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `dnsctl import`: bringing a hosts file, an Ansible inventory and a dnsmasq config into the store, then
/// serving them.
@Suite(.serialized) struct ImportCLITests {
    @Test("ansible-inventory: a rerun adds new nodes and removes only what the import created")
    func ansibleRerun() throws {
        let s = try CLITests.Store()
        let inv = s.dir + "/hosts.ini"
        Env.write(inv, "[pis]\nrpi7 ansible_host=192.168.10.57\nrpi8 ansible_host=192.168.10.58\n[vms]\nvs9 ansible_host=fd00::9\n")
        let (rc, out) = try s.run(["import", "ansible-inventory", inv])
        #expect(rc == 0 && out.contains("+ rpi7.jamfox.dev. 3600 IN A 192.168.10.57") && out.contains("+ vs9.jamfox.dev. 3600 IN AAAA fd00::9"), "\(out)")
        // A hand-made record at a name the inventory also has: the import never claims it.
        #expect(try s.run(["record", "add", "rpi9", "A", "192.168.10.59"]).0 == 0)
        Env.write(inv, "[pis]\nrpi7 ansible_host=192.168.10.57\nrpi9 ansible_host=192.168.10.59\nrpi10 ansible_host=192.168.10.60\n")
        let (rc2, out2) = try s.run(["import", "ansible-inventory", inv])
        #expect(rc2 == 0 && out2.contains("- rpi8.jamfox.dev.") && out2.contains("- vs9.jamfox.dev.") && out2.contains("+ rpi10.jamfox.dev."), "\(out2)")
        #expect(!out2.contains("rpi7") && !out2.contains("+ rpi9"))
        // The same file again: nothing to do.
        #expect(try s.run(["import", "ansible-inventory", inv]).1.contains("no change to jamfox.dev."))
        // rpi9 leaves the inventory: the hand-made record stays, as do the zone's own records.
        Env.write(inv, "[pis]\nrpi7 ansible_host=192.168.10.57\n")
        let (_, out3) = try s.run(["import", "ansible-inventory", inv])
        #expect(out3.contains("- rpi10.jamfox.dev.") && !out3.contains("rpi9"), "\(out3)")
        let (_, list) = try s.run(["record", "list"])
        #expect(list.contains("rpi9.jamfox.dev.") && list.contains("rpi7.jamfox.dev.") && list.contains("vs0.jamfox.dev.") && !list.contains("rpi8"))
    }

    @Test("hosts: several addresses per name; a conflicting import is rejected whole and changes nothing")
    func hostsAndRollback() throws {
        let s = try CLITests.Store()
        let hosts = s.dir + "/hosts"
        Env.write(hosts, "127.0.0.1 localhost\n192.168.10.70 media\n192.168.10.71 media tv\n")
        let (rc, out) = try s.run(["import", "hosts", hosts, "--ttl", "600"])
        #expect(rc == 0 && out.contains("+ media.jamfox.dev. 600 IN A 192.168.10.70") && out.contains("+ media.jamfox.dev. 600 IN A 192.168.10.71"), "\(out)")
        #expect(out.contains("not mapped (1):") && out.contains("hosts:1: 127.0.0.1 localhost: loopback"))
        // grafana.jamfox.dev is a CNAME-free wildcard answer, but an explicit CNAME owner cannot get an A.
        #expect(try s.run(["record", "add", "alias", "CNAME", "vs0"]).0 == 0)
        let before = try s.run(["zone", "list"]).1
        Env.write(hosts, "192.168.10.72 alias\n192.168.10.73 fresh\n")
        let (rc2, out2) = try s.run(["import", "hosts", hosts])
        #expect(rc2 == 1 && out2.contains("alias.jamfox.dev.") && out2.contains("CNAME"), "\(out2)")
        #expect(try s.run(["zone", "list"]).1 == before)
        #expect(!(try s.run(["record", "list"]).1.contains("fresh")))
    }

    @Test("dnsmasq: the lab's config becomes records, upstream names and a config fragment jamdns accepts")
    func dnsmasq() throws {
        let s = try CLITests.Store()
        let conf = s.dir + "/dnsmasq.conf"
        Env.write(s.dir + "/extra.hosts", "192.168.10.61 backup\n")
        Env.write(conf, """
            no-resolv
            domain-needed
            bogus-priv
            server=8.8.8.8
            server=/consul/192.168.10.120#8600
            rev-server=192.168.10.0/24,127.0.0.1#8600
            server=/ext.jamfox.dev/#
            host-record=minio,192.168.10.133
            cname=s3,minio.jamfox.dev
            addn-hosts=\(s.dir)/extra.hosts
            dhcp-range=192.168.10.100,192.168.10.199,12h
            """)
        let frag = s.dir + "/fragment.toml"
        let (rc, out) = try s.run(["import", "dnsmasq", conf, "--config-out", frag])
        #expect(rc == 0, "\(out)")
        #expect(out.contains("+ minio.jamfox.dev. 0 IN A 192.168.10.133") && out.contains("+ s3.jamfox.dev. 0 IN CNAME minio.jamfox.dev."), "\(out)")
        #expect(out.contains("+ backup.jamfox.dev. 0 IN A 192.168.10.61") && out.contains("resolved upstream: ext.jamfox.dev."))
        #expect(out.contains("created zone 10.168.192.in-addr.arpa.") && out.contains("+ 133.10.168.192.in-addr.arpa. 0 IN PTR minio.jamfox.dev."))
        #expect(out.contains("jamfox.dev. fallthrough off -> types"), "\(out)")
        #expect(out.contains("dnsmasq.conf:11: dhcp-range=") && out.contains("DHCP"))
        let (crc, cout) = try runTool(Env.bin + "/jamdns", ["check-config", frag], dir: s.dir)
        #expect(crc == 0 && cout.contains("resolver with 1 upstream(s) and 2 forward zone(s)"), "\(cout)\n\(Env.read(frag))")
        // A rerun is a no-op and never overwrites the fragment.
        let (rc2, out2) = try s.run(["import", "dnsmasq", conf])
        #expect(rc2 == 0 && out2.contains("no change to jamfox.dev.") && out2.contains("no change to 10.168.192.in-addr.arpa.") && out2.contains("[forward.\"consul.\"]"), "\(out2)")
        #expect(try s.run(["upstream", "list"]).1.contains("ext.jamfox.dev."))
        // An existing --config-out fails before anything is written: the store is untouched, exit 1.
        Env.write(s.dir + "/more.hosts", "192.168.10.62 restore\n")
        Env.write(conf, Env.read(conf) + "\naddn-hosts=\(s.dir)/more.hosts\n")
        let before = try s.run(["zone", "list"]).1
        let (rc3, out3) = try s.run(["import", "dnsmasq", conf, "--config-out", frag])
        #expect(rc3 == 1 && out3.contains("nothing was changed"), "\(out3)")
        #expect(try s.run(["zone", "list"]).1 == before && !(try s.run(["record", "list"]).1.contains("restore")))
    }

    @Test("dnsmasq into an empty store: the zone its names are under is created, and so is the store (said)")
    func dnsmasqEmptyStore() throws {
        let dir = Env.tempDir("dm-empty")
        let conf = dir + "/dnsmasq.conf"
        Env.write(conf, "address=/nas0.jamfox.dev/192.168.10.66\naddress=/jamfox.dev/192.168.10.80\nserver=8.8.8.8\n")
        let (rc, out) = try runTool(Env.bin + "/dnsctl", ["import", "dnsmasq", conf, "--db", dir + "/s.sqlite"], dir: dir)
        #expect(rc == 0 && out.contains("created the store") && out.contains("created zone jamfox.dev.") && out.contains("zone jamfox.dev.: inferred"), "\(out)")
        #expect(out.contains("+ nas0.jamfox.dev. 0 IN A 192.168.10.66") && out.contains("+ jamfox.dev. 3600 IN NS ns1.jamfox.dev."), "\(out)")
        let (_, json) = try runTool(Env.bin + "/dnsctl", ["import", "dnsmasq", conf, "--db", dir + "/s.sqlite", "--json"], dir: dir)
        #expect(json.split(separator: "\n").count == 1 && json.hasPrefix("{\"dry_run\":false,") && json.contains("\"fallthrough\":\"types\""), "one JSON document: \(json)")
    }
}

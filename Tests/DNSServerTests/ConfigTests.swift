import Testing
@testable import DNSServer

#if canImport(Glibc)
import Glibc
#endif

@Suite struct ConfigTests {
    @Test func defaultsAreTheEmbeddedConfiguration() {
        let c = ServerConfig()
        #expect(c.listen.map(\.description) == ["127.0.0.1:5300", "[::1]:5300"])
        #expect(c.dbPath == "jamdns.sqlite" && c.seedZones == "zones" && c.ednsUDPPayload == 1232)
    }

    @Test("ConfigFuzz regression: deeply nested arrays are an error with the line, not a stack overflow")
    func nestedArrays() {
        let text = "# x\ncache = " + String(repeating: "[", count: 100_000) + "\n"
        #expect(throws: ConfigError.self) { try ServerConfig.parse(text, file: "fuzz.toml") }
        do { _ = try ServerConfig.parse(text, file: "fuzz.toml") } catch {
            #expect(error.description == "fuzz.toml:2: arrays nested more than 8 deep")
        }
        #expect(throws: ConfigError.self) { try ServerConfig.parse("[server]\nlisten = [[\"127.0.0.1:53\"]]\n") }
    }

    @Test("the shipped example config parses")
    func shippedExample() throws {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        let path = parts.joined(separator: "/") + "/systemd/jamdns.toml"
        let f = try #require(fopen(path, "r"))
        var text: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 8192)
        let n = fread(&buf, 1, buf.count, f)
        text += buf[0..<n]
        fclose(f)
        let c = try ServerConfig.parse(String(decoding: text, as: UTF8.self))
        #expect(c.dbPath == "/var/lib/jamdns/jamdns.sqlite" && c.listenExplicit)
    }

    @Test func parsesEveryKey() throws {
        let c = try ServerConfig.parse("""
            [server]
            listen = [
              "192.168.10.53:53",  # LAN
              "[::1]:53",
            ]
            udp_workers = 2
            udp_receive_buffer = 1048576
            answer_cache_slots = 0
            tcp_max_connections = 10
            tcp_idle_timeout_ms = 500
            edns_udp_payload = 1400
            [store]
            path = "/var/lib/jamdns/x.sqlite"
            seed_zones = ""
            poll_interval_ms = 100
            [log]
            level = "debug"
            """)
        #expect(c.listen.map(\.description) == ["192.168.10.53:53", "[::1]:53"])
        #expect(c.udpReceiveBuffer == 1_048_576 && c.answerCacheSlots == 0)
        #expect(c.udpWorkers == 2 && c.tcpMaxConnections == 10 && c.tcpIdleTimeoutMs == 500 && c.ednsUDPPayload == 1400)
        #expect(c.dbPath == "/var/lib/jamdns/x.sqlite" && c.seedZones == "" && c.pollIntervalMs == 100 && c.logLevel == "debug")
    }

    static let bad: [(String, String)] = [
        ("[server]\nlisten = [\"127.0.0.1\"]\n", "config:2: bad listen address"),
        ("[server]\nlisten = [\"300.0.0.1:53\"]\n", "config:2: bad listen address"),
        ("[server]\nudp_workers = \"two\"\n", "config:2: 'server.udp_workers' must be an integer"),
        ("[server]\nedns_udp_payload = 100\n", "config:2: 'server.edns_udp_payload' must be an integer in 512...4096"),
        ("[server]\nlisen = []\n", "config:2: unknown key 'lisen' in [server] (did you mean 'listen'? keys there: allow_query,"),
        ("[store]\npath = /tmp/x\n", "config:2: expected a value"),
        ("[store]\npath = \"x\"\npath = \"y\"\n", "config:3: key 'store.path' set twice"),
        ("[log]\nlevel = \"loud\"\n", "config:2: 'log.level' must be one of"),
        ("[server\n", "config:1: expected ']'"),
        ("[store]\npath = \"unterminated\n", "config:2: unterminated string"),
    ]

    @Test("errors name the line and the key", arguments: 0..<bad.count)
    func errors(index: Int) {
        let (text, expected) = Self.bad[index]
        do {
            _ = try ServerConfig.parse(text)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.message.hasPrefix(expected), "\(error.message)")
        }
    }

    @Test func listenAddresses() {
        #expect(ListenAddress("127.0.0.1:53")?.family == .v4)
        #expect(ListenAddress("[::1]:5300")?.family == .v6)
        #expect(ListenAddress("[::1]") == nil)
        #expect(ListenAddress("::1:53") == nil)
        #expect(ListenAddress("localhost:53") == nil)
        #expect(ListenAddress("127.0.0.1:65536") == nil)
    }
}

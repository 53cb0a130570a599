#if canImport(Glibc)
import Glibc
#endif
import DNSForward
import DNSWire
import Synchronization
import SystemIO

/// Runs the configured detection methods for one family, in order, until one yields a usable address.
public final class Detector {
    let http: HTTPClient
    let policy: AddressPolicy
    let ifInet6Path: String

    public init(http: HTTPClient = HTTPClient(), policy: AddressPolicy, ifInet6Path: String = "/proc/net/if_inet6") {
        self.http = http
        self.policy = policy
        self.ifInet6Path = ifInet6Path
    }

    /// The address, or every method's failure (for the error message).
    public func detect(_ methods: [DetectMethod], family: AddressFamily) -> (WANAddress?, [String]) {
        var failures: [String] = []
        for m in methods {
            do {
                return (try detect(m, family: family), failures)
            } catch {
                failures.append("\(m): \(error)")
            }
        }
        return (nil, failures)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func detect(_ m: DetectMethod, family: AddressFamily) throws -> WANAddress {
        switch m {
        case .cloudflareTrace(let url):
            let r = try get(url, family: family)
            return try policy.check(try Detection.parseTrace(r, expectedHost: Self.host(of: url)), family: family)
        case .echo(let url):
            return try policy.check(try Detection.parseEcho(try get(url, family: family)), family: family)
        case .dns(let svc, let server):
            return try askDNS(svc, server: server, family: family)
        case .interface(let name):
            switch family {
            case .v6:
                guard let text = try? readText(ifInet6Path) else { throw Failure(description: "cannot read \(ifInet6Path)") }
                guard let a = Detection.pickInterfaceIPv6(Detection.parseIfInet6(text), interface: name, policy: policy) else {
                    throw Failure(description: "no stable global IPv6 address on \(name ?? "any interface")")
                }
                return a
            case .v4:
                for a in Self.interfaceIPv4(name) {
                    if let w = try? policy.check(a, family: .v4) { return w }
                }
                throw Failure(description: "no global IPv4 address on \(name ?? "any interface") (behind NAT? use cloudflare-trace)")
            }
        }
    }

    /// One question to one server through c-ares, waited for (bounded by the forwarder's deadline).
    func askDNS(_ svc: DNSService, server: String?, family: AddressFamily) throws -> WANAddress {
        let s = server ?? svc.defaultServer(family)
        guard let upstream = UpstreamServer(s) else { throw Failure(description: "bad DNS server '\(s)'") }
        guard upstream.isIPv6 == (family == .v6) else {
            throw Failure(description: "server \(s) is not \(family == .v4 ? "IPv4" : "IPv6"): the answer would be the other family's address")
        }
        let (name, type, cls): (String, RRType, RRClass) = switch svc {
        case .whoamiCloudflare: ("whoami.cloudflare.", .txt, .ch)
        case .myipOpenDNS: ("myip.opendns.com.", family == .v4 ? .a : .aaaa, .in)
        }
        var q = Message.query(try DNSName(name), type, recursionDesired: false, edns: EDNS())
        q.questions[0].qclass = cls
        var opts = ForwarderOptions()
        opts.tryTimeoutMs = 2000
        opts.deadlineMs = 2500
        let f = try Forwarder(zones: [[upstream]], options: opts)
        defer { f.stop() }
        let box = Mutex<Result<[UInt8], ForwardError>?>(nil)
        f.forward(q.wireBytes(), key: CoalesceKey(name: try DNSName(name), type: type, qclass: cls, dnssecOK: false, zone: 0)) { r in
            box.withLock { $0 = r }
        }
        var result: Result<[UInt8], ForwardError>?
        for _ in 0..<600 where result == nil {  // ≤ 3 s
            usleep(5000)
            result = box.withLock { $0 }
        }
        guard case .success(let bytes)? = result else { throw Failure(description: "\(s) did not answer (\(result.map { "\($0)" } ?? "timeout"))") }
        let m = try Message.parse(bytes)
        guard m.rcode == .noError else { throw Failure(description: "\(s) answered \(m.rcode)") }
        for rr in m.answers {
            switch rr.rdata {
            case .txt(let txt) where type == .txt:
                if let first = txt.strings.first { return try policy.check(String(decoding: first, as: UTF8.self), family: family) }
            case .a(let a) where type == .a: return try policy.check(a.description, family: family)
            case .aaaa(let a) where type == .aaaa: return try policy.check(a.description, family: family)
            default: continue
            }
        }
        throw Failure(description: "\(s) gave no \(type) answer for \(name)")
    }

    func get(_ url: String, family: AddressFamily) throws -> String {
        let r = try http.perform(HTTPRequest(url: url, timeoutMs: 10_000, family: family))
        guard r.status == 200 else { throw Failure(description: "HTTP \(r.status)") }
        return r.text
    }

    /// The host of a URL as the trace's `h=` reports it (no port; brackets kept for IPv6 literals).
    static func host(of url: String) -> String {
        var rest = Substring(url)
        if let r = url.range(ofPrefix: "://") { rest = url[r.upperBound...] }
        let hostPort = rest.prefix { $0 != "/" && $0 != "?" }
        if hostPort.hasPrefix("[") { return String(hostPort.prefix { $0 != "]" }) + "]" }
        return String(hostPort.prefix { $0 != ":" })
    }

    static func interfaceIPv4(_ name: String?) -> [String] {
        var head: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&head) == 0 else { return [] }
        defer { freeifaddrs(head) }
        var out: [String] = []
        var p = head
        while let ifa = p {
            defer { p = ifa.pointee.ifa_next }
            guard let sa = ifa.pointee.ifa_addr, sa.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            if let name, String(cString: ifa.pointee.ifa_name) != name { continue }
            var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                var a = sin.pointee.sin_addr
                _ = inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count))
            }
            out.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return out
    }
}

/// Reads a small text file (a config, a secret, the state; at most 1 MiB).
public func readText(_ path: String) throws -> String {
    do { return try FileReader.text(path) } catch { throw DDNSConfigError(message: error.message) }
}

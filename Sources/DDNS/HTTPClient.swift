#if canImport(Glibc)
import Glibc
#endif
import CCurl

public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]?
    public var timeoutMs: Int
    /// Pin the connection to one address family (a v4 probe must never come back over v6).
    public var family: AddressFamily?

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                timeoutMs: Int = 10_000, family: AddressFamily? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMs = timeoutMs
        self.family = family
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Header names lowercased.
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.last { $0.0 == n }?.1
    }
}

/// A failed transfer: libcurl's code and message, and the URL without its query string (which may carry a
/// password, as Namecheap's does). Never the request's headers.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var curlCode: Int
    public var message: String
    public var url: String
    public var isTimeout: Bool { curlCode == Int(CURLE_OPERATION_TIMEDOUT.rawValue) }
    public var description: String { "\(url): \(message) (curl \(curlCode))" }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters: a query-string value.
public func percentEncoded(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            out.unicodeScalars.append(Unicode.Scalar(b))
        default:
            let h = String(b, radix: 16, uppercase: true)
            out += "%" + (h.count == 1 ? "0" + h : h)
        }
    }
    return out
}

/// Strips the query string (secrets live there for Namecheap) and any user:password@ from a URL.
public func redactedURL(_ url: String) -> String {
    var u = url
    if let q = u.firstIndex(of: "?") { u = String(u[..<q]) + "?…" }
    if let scheme = u.range(ofPrefix: "://"), let at = u[scheme.upperBound...].firstIndex(of: "@"),
        !u[scheme.upperBound..<at].contains("/")
    {
        u = String(u[..<scheme.upperBound]) + "…@" + String(u[u.index(after: at)...])
    }
    return u
}

extension String {
    func range(ofPrefix needle: String) -> Range<String.Index>? {
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}

enum CurlGlobal {
    /// curl_global_init must run once before any thread uses libcurl.
    static let once: Void = { _ = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()
}

/// One `CURL*` easy handle. Not Sendable: one per thread (the DDNS loop has one).
public final class HTTPClient {
    let handle: OpaquePointer
    public var userAgent = "jamdns-ddns/1"

    public init() {
        CurlGlobal.once
        handle = OpaquePointer(curl_easy_init()!)
    }

    deinit { curl_easy_cleanup(UnsafeMutableRawPointer(handle)) }

    final class Sink {
        var body: [UInt8] = []
        var headers: [(String, String)] = []
        let maxBody = 1 << 20
        var overflow = false
    }

    public func perform(_ r: HTTPRequest) throws(HTTPError) -> HTTPResponse {
        let h = UnsafeMutableRawPointer(handle)
        curl_easy_reset(h)
        let sink = Sink()
        let ctx = Unmanaged.passUnretained(sink).toOpaque()
        var list: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(list) }
        for (k, v) in r.headers { list = curl_slist_append(list, "\(k): \(v)") }
        if r.body != nil && !r.headers.contains(where: { $0.0.lowercased() == "content-type" }) {
            list = curl_slist_append(list, "Content-Type: application/json")
        }
        list = curl_slist_append(list, "Expect:")  // no 100-continue round trip
        _ = jam_curl_setopt_str(h, CURLOPT_URL, r.url)
        _ = jam_curl_setopt_str(h, CURLOPT_USERAGENT, userAgent)
        _ = jam_curl_setopt_str(h, CURLOPT_PROTOCOLS_STR, "http,https")
        _ = jam_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
        _ = jam_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
        _ = jam_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)  // TLS verification stays on
        _ = jam_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
        _ = jam_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, r.timeoutMs)
        _ = jam_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, min(r.timeoutMs, 5000))
        switch r.family {
        case .v4: _ = jam_curl_setopt_long(h, CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V4))
        case .v6: _ = jam_curl_setopt_long(h, CURLOPT_IPRESOLVE, Int(CURL_IPRESOLVE_V6))
        case nil: break
        }
        _ = jam_curl_setopt_slist(h, CURLOPT_HTTPHEADER, list)
        if r.method != "GET" { _ = jam_curl_setopt_str(h, CURLOPT_CUSTOMREQUEST, r.method) }
        if let body = r.body {
            _ = jam_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            _ = body.withUnsafeBytes { jam_curl_setopt_ptr(h, CURLOPT_COPYPOSTFIELDS, $0.baseAddress) }
        }
        _ = jam_curl_setopt_write(h, CURLOPT_WRITEFUNCTION) { ptr, size, n, ctx in
            guard let ptr, let ctx else { return 0 }
            let s = Unmanaged<Sink>.fromOpaque(ctx).takeUnretainedValue()
            let count = size * n
            if s.body.count + count > s.maxBody {
                s.overflow = true
                return 0  // abort: a DDNS API answer is never this large
            }
            s.body.append(contentsOf: UnsafeRawBufferPointer(start: ptr, count: count))
            return count
        }
        _ = jam_curl_setopt_ptr(h, CURLOPT_WRITEDATA, ctx)
        _ = jam_curl_setopt_write(h, CURLOPT_HEADERFUNCTION) { ptr, size, n, ctx in
            guard let ptr, let ctx else { return 0 }
            let s = Unmanaged<Sink>.fromOpaque(ctx).takeUnretainedValue()
            let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: size * n), as: UTF8.self)
            if line.hasPrefix("HTTP/") { s.headers.removeAll() }  // a new response (after 1xx)
            if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].lowercased()
                var value = Substring(line[line.index(after: colon)...])
                while let f = value.first, f == " " || f == "\t" { value.removeFirst() }
                while let l = value.last, l.isNewline || l == " " { value.removeLast() }  // "\r\n" is one Character
                if s.headers.count < 100 { s.headers.append((name, String(value))) }
            }
            return size * n
        }
        _ = jam_curl_setopt_ptr(h, CURLOPT_HEADERDATA, ctx)
        let rc = curl_easy_perform(h)
        guard rc == CURLE_OK else {
            let msg = sink.overflow ? "answer larger than 1 MiB" : String(cString: curl_easy_strerror(rc))
            throw HTTPError(curlCode: Int(rc.rawValue), message: msg, url: redactedURL(r.url))
        }
        var status = 0
        _ = jam_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: sink.headers, body: sink.body)
    }
}

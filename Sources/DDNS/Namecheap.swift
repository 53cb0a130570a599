/// Namecheap dynamic DNS: `GET /update?host=&domain=&password=&ip=`, where host is "@", "*" or a label.
/// The answer is HTTP 200 with XML; success only when ErrCount is 0. IPv4 only.
public final class NamecheapProvider: DDNSProvider {
    public let label = "namecheap"
    public let families: [AddressFamily] = [.v4]
    public let canRead = false
    let base: String
    let password: Secret
    let http: HTTPClient

    public init(baseURL: String = "https://dynamicdns.park-your-domain.com", password: Secret, http: HTTPClient = HTTPClient()) {
        base = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.password = password
        self.http = http
    }

    /// Namecheap's dynamic DNS cannot be read back; the daemon relies on the last value it pushed.
    public func current(_ name: DDNSName, family: AddressFamily) throws(DDNSError) -> String? { nil }

    public func update(_ name: DDNSName, to address: WANAddress, dryRun: Bool) throws(DDNSError) -> UpdateResult {
        guard address.family == .v4 else { throw .rejected("Namecheap dynamic DNS takes IPv4 only") }
        if dryRun { return UpdateResult(.wouldUpdate(from: nil)) }
        let url = base + "/update?host=\(percentEncoded(name.host))&domain=\(percentEncoded(name.zone))"
            + "&password=\(percentEncoded(password.value))&ip=\(address)"
        let r: HTTPResponse
        do {
            r = try http.perform(HTTPRequest(url: url, timeoutMs: 15_000, family: .v4))
        } catch {
            throw transient(error)  // HTTPError already hides the query string
        }
        guard r.status == 200 else {
            throw classify(status: r.status, retryAfter: r.header("retry-after"), message: "Namecheap answered HTTP \(r.status)")
        }
        let parsed: NamecheapResponse
        do { parsed = try NamecheapResponse.parse(r.text) } catch { throw .transient(error.message) }
        guard parsed.errCount == 0 else {
            let text = parsed.errors.isEmpty ? "ErrCount \(parsed.errCount)" : parsed.errors.joined(separator: "; ")
            // Namecheap reports a wrong password or unknown domain as an error in the XML, with HTTP 200.
            let lower = text.lowercased()
            if lower.contains("password") || lower.contains("invalid") && lower.contains("domain") {
                throw .auth("Namecheap says: \(text). Check the Dynamic DNS password of \(name.zone) (Advanced DNS page) and that dynamic DNS is enabled")
            }
            throw .rejected("Namecheap says: \(text)")
        }
        return UpdateResult(.updated(from: nil))
    }
}

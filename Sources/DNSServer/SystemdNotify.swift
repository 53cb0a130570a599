#if canImport(Glibc)
import Glibc
#endif
import SystemIO

/// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (a path, or "@name" in the abstract
/// namespace). Without the variable (not started by systemd with Type=notify) it does nothing.
public enum SystemdNotify {
    /// Sends `state` ("READY=1", "RELOADING=1", "STOPPING=1", "STATUS=..."); false if there is no socket
    /// or sending failed.
    @discardableResult
    public static func send(_ state: String) -> Bool {
        guard let env = getenv("NOTIFY_SOCKET") else { return false }
        var path = Array(String(cString: env).utf8)
        guard !path.isEmpty, path[0] == UInt8(ascii: "/") || path[0] == UInt8(ascii: "@") else { return false }
        if path[0] == UInt8(ascii: "@") { path[0] = 0 }
        guard var addr = unixAddress(path) else { return false }
        let fd = socket(AF_UNIX, datagramSocketType, 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let sent = withUnsafePointer(to: &addr) { a in
            a.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                state.withCString { sendto(fd, $0, strlen($0), Int32(MSG_NOSIGNAL), sa, len) }
            }
        }
        return sent >= 0
    }
}

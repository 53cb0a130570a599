#if canImport(Glibc)
import Glibc
#endif
import CSys

/// A failed system call, named, with errno and the address involved.
public struct SocketError: Error, Sendable, CustomStringConvertible {
    public var call: String
    public var errno: Int32
    public var address: String
    /// The address is a Unix socket path (the control socket), not IP:PORT: the hints differ.
    public var unixPath = false

    public init(call: String, errno: Int32, address: String, unixPath: Bool = false) {
        self.call = call
        self.errno = errno
        self.address = address
        self.unixPath = unixPath
    }

    public var description: String {
        var hint = ""
        switch (errno, unixPath) {
        case (EADDRINUSE, true): hint = " (the socket file exists and could not be replaced: is another jamdns using this store, or is the directory not writable?)"
        case (EACCES, true): hint = " (the directory is not writable by this user)"
        case (EADDRINUSE, false): hint = " (another program is already listening there: systemd-resolved's stub or dnsmasq on port 53? pick another port or stop it)"
        case (EACCES, false): hint = " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
        case (EADDRNOTAVAIL, _): hint = " (no interface has this address)"
        default: break
        }
        return "\(call) \(address): \(String(cString: strerror(errno)))\(hint)"
    }
}

/// A sockaddr_storage for an address, and its length.
func socketAddress(_ a: ListenAddress) -> (sockaddr_storage, socklen_t) {
    var ss = sockaddr_storage()
    switch a.family {
    case .v4:
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_port = a.port.bigEndian
        inet_pton(AF_INET, a.host, &sin.sin_addr)
        withUnsafeBytes(of: sin) { src in withUnsafeMutableBytes(of: &ss) { $0.copyMemory(from: src) } }
        return (ss, socklen_t(MemoryLayout<sockaddr_in>.size))
    case .v6:
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = a.port.bigEndian
        inet_pton(AF_INET6, a.host, &sin6.sin6_addr)
        withUnsafeBytes(of: sin6) { src in withUnsafeMutableBytes(of: &ss) { $0.copyMemory(from: src) } }
        return (ss, socklen_t(MemoryLayout<sockaddr_in6>.size))
    }
}

/// Creates, configures and binds a socket. UDP sockets share the port through SO_REUSEPORT (one per worker).
func bindSocket(_ a: ListenAddress, udp: Bool, receiveBuffer: Int = 0) throws(SocketError) -> Int32 {
    let domain = a.family == .v4 ? AF_INET : AF_INET6
    let type = Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue) 
    let fd = socket(domain, type, 0)
    guard fd >= 0 else { throw SocketError(call: "socket", errno: errno, address: a.description) }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    // Only the UDP worker sockets share a port; the TCP socket does not, so a second server on the same
    // address fails with EADDRINUSE instead of silently splitting the traffic.
    if udp { _ = jam_set_reuseport(fd) }
    if udp && receiveBuffer > 0 {
        // Bursts from many clients overflow the default ~208 KB buffer (measured: every dnsperf loss at 500 in
        // flight was an RcvbufErrors drop). The kernel caps this at net.core.rmem_max.
        var size = Int32(clamping: receiveBuffer)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }
    if a.family == .v6 { _ = jam_set_v6only(fd) }
    var (ss, len) = socketAddress(a)
    let rc = withUnsafePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    guard rc == 0 else {
        let e = errno
        close(fd)
        throw SocketError(call: "bind", errno: e, address: "\(a) (\(udp ? "UDP" : "TCP"))")
    }
    if !udp {
        guard listen(fd, 128) == 0 else {
            let e = errno
            close(fd)
            throw SocketError(call: "listen", errno: e, address: a.description)
        }
        setNonBlocking(fd)
    }
    return fd
}

/// The receive buffer the kernel actually granted (it reports twice the usable size).
func receiveBufferSize(_ fd: Int32) -> Int {
    var size: Int32 = 0
    var len = socklen_t(MemoryLayout<Int32>.size)
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len)
    return Int(size) / 2
}

func setNonBlocking(_ fd: Int32) {
    let flags = fcntl(fd, F_GETFL, 0)
    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
}

/// SOCK_DGRAM and SOCK_STREAM as socket(2) takes them.
let datagramSocketType = Int32(SOCK_DGRAM.rawValue)
let streamSocketType = Int32(SOCK_STREAM.rawValue)

/// SO_RCVTIMEO through the C shim (the timeval layout is the shim's business).
func jamSetRecvTimeout(_ fd: Int32, ms: Int32) -> Int32 { jam_set_recv_timeout_ms(fd, ms) }

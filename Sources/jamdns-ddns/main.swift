// jamdns-ddns: the DDNS sidecar. Its own issue builds it; until then it says so and fails.
#if canImport(Glibc)
import Glibc
#endif

let message = "jamdns-ddns: not implemented yet (DDNS for Cloudflare and Namecheap is a later milestone)\n"
_ = message.withCString { write(2, $0, strlen($0)) }
exit(1)

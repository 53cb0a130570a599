// swift-tools-version:6.1
import PackageDescription

/// Every Swift target: language mode 6, and each function in a section of its own, so that the linker can drop
/// the unused ones and lay out jamdns's by its profile (`jamdnsLayout`). LLVM's function merging is off: it
/// turned near-identical functions into thunks without a name, which no order file can place (lld's identical
/// code folding still merges the exact copies).
let strict: [SwiftSetting] = [.swiftLanguageMode(.v6), .unsafeFlags(["-Xfrontend", "-function-sections", "-Xfrontend", "-disable-llvm-merge-functions-pass"], .when(platforms: [.linux]))]

/// How the three programs are linked, for memory: a Pi serving a small zone spends most of its RSS on code
/// pages, not data. lld (shipped with the Swift toolchain) instead of gold for two options gold lacks:
/// packed relative relocations (DT_RELR, glibc 2.36+: the 670 KB relocation table is read at every start
/// and stays resident) and identical code folding (generic specializations that compiled alike). The C++
/// runtime the Swift runtime needs is linked statically from its archive (scripts/link/libstdc++.so is a
/// linker script found ahead of the shared library), which keeps only the parts used. Together: 1.6 MB less
/// RSS at start, same code. No symbol is exported: nothing looks these programs' symbols up, and their 4,200-entry
/// export table was 330 KB of RSS at start.
let packageDirectory = String(#filePath.dropLast("Package.swift".count))
let lean: [LinkerSetting] = [
    .unsafeFlags(["-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs", "-Xlinker", "--icf=all",
                  "-Xlinker", "--no-export-dynamic", "-L\(packageDirectory)scripts/link"], .when(platforms: [.linux])),
]
/// jamdns's functions in the order of a profile (scripts/layout writes the file): what start-up and the query
/// path run sits together at the start of the text, so the code pages the kernel maps around them are few
/// (4.5 MB of resident code at a thousand records, 2.7 MB after). Names the file lists and the binary lacks
/// are ignored; scripts/test fails when most of them are gone.
let jamdnsLayout: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--symbol-ordering-file=\(packageDirectory)scripts/link/jamdns.order", "-Xlinker", "--no-warn-symbol-ordering"],
                 .when(platforms: [.linux])),
]

let package = Package(
    name: "JamDNS",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jamdns", targets: ["jamdns"]),
        .executable(name: "dnsctl", targets: ["dnsctl"]),
        .executable(name: "jamdns-ddns", targets: ["jamdns-ddns"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // C libraries from Debian, found by pkg-config; shim.h wraps what Swift cannot call (variadics, cast macros).
        .systemLibrary(name: "CAres", pkgConfig: "libcares", providers: [.apt(["libc-ares-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // recvmmsg/sendmmsg and friends, which Glibc's Swift module does not export.
        .target(name: "CSys"),
        // OpenSSL 3's libcrypto (libssl-dev's headers), opened on first TSIG use rather than linked.
        .target(name: "CCrypto", linkerSettings: [.linkedLibrary("dl")]),
        // SQLite (libsqlite3-dev's header), opened while a connection is open rather than linked.
        .target(name: "CSQLite", linkerSettings: [.linkedLibrary("dl")]),

        // Wire format: stdlib only, no I/O.
        .target(name: "DNSWire", swiftSettings: strict),
        // Zone-file text, in-memory zones and the authoritative lookup.
        .target(name: "DNSZone", dependencies: ["DNSWire"], swiftSettings: strict),
        .target(name: "DNSTSIG", dependencies: ["DNSWire", "CCrypto"], swiftSettings: strict),
        // The resolver's answer cache: pure, time passed in.
        .target(name: "DNSCache", dependencies: ["DNSWire"], swiftSettings: strict),
        // Forwarding to upstream servers through c-ares 1.18, on its own poll loop.
        .target(name: "DNSForward", dependencies: ["DNSWire", "CAres", "SystemIO"], swiftSettings: strict),
        // The SQLite store: the only target with SQL.
        .target(name: "DNSStore", dependencies: ["DNSZone", "DNSWire", "DNSTSIG", "CSQLite", "SystemIO"], swiftSettings: strict),
        // Small system helpers shared by every target that does I/O: clocks, thread start, a bounded queue
        // between two threads, capped file reads, Unix socket addresses, the control-socket client.
        .target(name: "SystemIO", swiftSettings: strict),
        // Leveled log lines on standard error (the journal, under systemd).
        .target(name: "JamLog", swiftSettings: strict),
        // The release number every binary reports.
        .target(name: "JamVersion", swiftSettings: strict),
        // The strict TOML subset both daemons' configs use.
        .target(name: "ConfigFormat", swiftSettings: strict),
        // Migration: hosts files, Ansible inventories and dnsmasq configs mapped to records (pure, no I/O).
        .target(name: "Importers", dependencies: ["DNSWire", "DNSZone"], swiftSettings: strict),
        // Prometheus text and the small loopback HTTP endpoint both daemons serve it on.
        .target(name: "Exposition", dependencies: ["SystemIO"], swiftSettings: strict),
        // DDNS: WAN address detection and the Cloudflare/Namecheap providers (libcurl).
        .target(name: "DDNS", dependencies: ["DNSWire", "DNSStore", "DNSForward", "CCurl", "ConfigFormat", "Exposition", "SystemIO"], swiftSettings: strict),
        // Query engine, listeners, configuration.
        .target(
            name: "DNSServer",
            dependencies: [
                "DNSWire", "DNSZone", "DNSStore", "DNSTSIG", "DNSCache", "DNSForward", "CSys", "ConfigFormat", "Exposition", "SystemIO",
                "JamLog",
            ],
            swiftSettings: strict),

        .executableTarget(
            name: "jamdns",
            // No ArgumentParser here: it pulls in FoundationEssentials (~3 MB of RSS) for five options.
            dependencies: ["DNSServer", "DNSStore", "JamVersion", "SystemIO", "JamLog"],
            swiftSettings: strict, linkerSettings: lean + jamdnsLayout),
        .executableTarget(
            name: "dnsctl",
            dependencies: [
                "DNSStore", "DNSZone", "DNSWire", "DNSTSIG", "Importers", "ConfigFormat", "JamVersion", "SystemIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict, linkerSettings: lean),
        .executableTarget(name: "jamdns-ddns", dependencies: ["DDNS", "Exposition", "JamVersion"], swiftSettings: strict, linkerSettings: lean),
        // libFuzzer targets: build with scripts/fuzz (--sanitize fuzzer); their corpus is Tests/Vectors.
        .executableTarget(name: "DNSWireFuzz", dependencies: ["DNSWire"], swiftSettings: strict),
        .executableTarget(name: "ZoneFileFuzz", dependencies: ["DNSZone"], swiftSettings: strict),
        .executableTarget(name: "ConfigFuzz", dependencies: ["ConfigFormat"], swiftSettings: strict),
        .executableTarget(name: "TSIGFuzz", dependencies: ["DNSTSIG"], swiftSettings: strict),
        .executableTarget(name: "TransferFuzz", dependencies: ["DNSZone"], swiftSettings: strict),
        .executableTarget(name: "UpdateFuzz", dependencies: ["DNSZone"], swiftSettings: strict),
        // Micro-benchmarks of the query path (ns/op); scripts/bench measures the server as a whole.
        .executableTarget(name: "DNSBench", dependencies: ["DNSServer", "DNSZone", "DNSWire"], swiftSettings: strict),

        // Shared by the test targets: zones from text, a fake upstream, the pipeline without sockets.
        .target(name: "TestSupport", dependencies: ["DNSServer", "DNSZone", "DNSWire", "DNSForward", "DNSTSIG", "DNSStore"], path: "Tests/TestSupport", swiftSettings: strict),
        .testTarget(name: "DNSWireTests", dependencies: ["DNSWire", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DNSCacheTests", dependencies: ["DNSCache", "DNSWire", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DNSForwardTests", dependencies: ["DNSForward", "DNSWire"], swiftSettings: strict),
        .testTarget(name: "DDNSTests", dependencies: ["DDNS", "DNSWire"], swiftSettings: strict),
        .testTarget(name: "DNSZoneTests", dependencies: ["DNSZone", "DNSWire", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DNSTSIGTests", dependencies: ["DNSTSIG", "DNSWire", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DNSStoreTests", dependencies: ["DNSStore", "DNSZone", "DNSWire", "DNSTSIG", "SystemIO", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "DNSServerTests", dependencies: ["DNSServer", "DNSStore", "DNSZone", "DNSWire", "Exposition", "DNSForward", "SystemIO", "JamLog", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "ImportersTests", dependencies: ["Importers", "DNSWire"], swiftSettings: strict),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition"], swiftSettings: strict),
        .testTarget(name: "JamLogTests", dependencies: ["JamLog"], swiftSettings: strict),
        .testTarget(name: "SystemIOTests", dependencies: ["SystemIO"], swiftSettings: strict),
        .testTarget(name: "IntegrationTests", dependencies: ["DNSWire", "DNSForward", "DDNS", "DNSTSIG", "TestSupport"], swiftSettings: strict),
    ]
)

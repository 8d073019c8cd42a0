// swift-tools-version: 6.2
import PackageDescription

/// Settings shared by every Swift target (see ../shared/STYLE.md).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let subprocess = Target.Dependency.product(name: "Subprocess", package: "swift-subprocess")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals = Target.Dependency.product(name: "UnixSignals", package: "swift-service-lifecycle")
let hummingbird = Target.Dependency.product(name: "Hummingbird", package: "hummingbird")
let hummingbirdTesting = Target.Dependency.product(name: "HummingbirdTesting", package: "hummingbird")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let httpTypes = Target.Dependency.product(name: "HTTPTypes", package: "swift-http-types")
let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioHTTP1 = Target.Dependency.product(name: "NIOHTTP1", package: "swift-nio")
let crypto = Target.Dependency.product(name: "Crypto", package: "swift-crypto")
let hummingbirdTLS = Target.Dependency.product(name: "HummingbirdTLS", package: "hummingbird")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let x509 = Target.Dependency.product(name: "X509", package: "swift-certificates")
let asn1 = Target.Dependency.product(name: "SwiftASN1", package: "swift-asn1")
let openAPIRuntime = Target.Dependency.product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")

let package = Package(
    name: "Somnus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "somnus", targets: ["SomnusCLI"]),
        .executable(name: "somnus-agent", targets: ["SomnusAgent"]),
        .executable(name: "somnus-bench", targets: ["SomnusBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        // No default traits: `FullFoundation` would link full Foundation (and its 34 MB of ICU data) into the agent,
        // `ConfigurationSupport` pulls in swift-configuration; neither is used.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // No default traits: `FullFoundation` would link full Foundation; the generated code needs only its types.
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4", traits: []),
    ],
    targets: [
        // MARK: Shared
        .target(
            name: "AgentAPI", dependencies: ["Packs"], path: "Shared/AgentAPI",
            exclude: [
                "README.md", "openapi.yaml", "openapi-generator-config.yaml", "openapi-generator-client-config.yaml",
                "generate.sh", "Generator",
            ],
            swiftSettings: swiftSettings),
        // The types and server protocol that Shared/AgentAPI/generate.sh generates from openapi.yaml.
        .target(
            name: "AgentAPIGenerated",
            dependencies: ["AgentAPI", "Packs", openAPIRuntime, httpTypes],
            path: "Shared/AgentAPIGenerated",
            exclude: ["README.md"],
            // The generator writes `public import` in every file, also in those with no public declarations.
            swiftSettings: swiftSettings + [.unsafeFlags(["-suppress-warnings"])]),
        // The generated client, apart from the types so that the agent does not link it.
        .target(
            name: "AgentAPIClient",
            dependencies: ["AgentAPI", "AgentAPIGenerated", openAPIRuntime, httpTypes],
            path: "Shared/AgentAPIClient",
            exclude: ["README.md"],
            swiftSettings: swiftSettings + [.unsafeFlags(["-suppress-warnings"])]),
        .target(name: "Packs", path: "Shared/Packs", exclude: ["README.md"], swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CSQLite3",
            path: "Shared/CSQLite3",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "SQLite",
            dependencies: ["CSQLite3"],
            path: "Shared/SQLite",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),

        // MARK: Host
        .systemLibrary(
            name: "CLibvirt",
            path: "Host/CLibvirt",
            pkgConfig: "libvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        .target(
            name: "Libvirt",
            dependencies: ["CLibvirt"],
            path: "Host/Libvirt",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CSSH2",
            path: "Host/CSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        .target(
            name: "SSH", dependencies: ["CSSH2", crypto], path: "Host/SSH", exclude: ["README.md"],
            swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CCurl",
            path: "Host/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "CCurlShim", dependencies: ["CCurl"], path: "Host/CCurlShim"),
        .target(
            name: "Curl",
            dependencies: ["CCurl", "CCurlShim"],
            path: "Host/Curl",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SupervisorCore",
            dependencies: [
                "AgentAPI", "SQLite", "Libvirt", "SSH", "Curl", logging, serviceLifecycle, subprocess,
                "Packs", hummingbird, httpTypes, nioCore, crypto, x509, asn1, openAPIRuntime, "AgentAPIClient",
                "AgentAPIGenerated",
            ],
            path: "Host/SupervisorCore",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SomnusCLI",
            dependencies: [
                "SupervisorCore", "AgentAPI", "Curl", "SSH", argumentParser, logging, serviceLifecycle, unixSignals,
                "AgentAPIClient", "AgentAPIGenerated",
                "Packs",
            ],
            path: "Host/SomnusCLI",
            swiftSettings: swiftSettings
        ),

        // MARK: Guest
        .systemLibrary(
            name: "CSystemd",
            path: "Guest/CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .target(
            name: "Systemd", dependencies: ["CSystemd"], path: "Guest/Systemd", exclude: ["README.md"],
            swiftSettings: swiftSettings),
        .target(
            name: "LogClassifier",
            path: "Guest/LogClassifier",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Memory",
            dependencies: ["SQLite", "AgentAPI", crypto, logging, serviceLifecycle],
            path: "Guest/Memory",
            exclude: ["README.md"],
            // Optimized in debug builds too: the transformer embedder's forward pass is about 200 times slower
            // unoptimized, too slow for the tests that embed with the real model.
            swiftSettings: swiftSettings + [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        .target(
            name: "AgentBasics", dependencies: ["AgentAPI"], path: "Guest/AgentBasics", exclude: ["README.md"],
            swiftSettings: swiftSettings),
        .target(
            name: "AgentJobs",
            dependencies: [
                "AgentBasics", "AgentAPI", "Packs", "SQLite", nioPosix, subprocess, logging, serviceLifecycle,
            ],
            path: "Guest/AgentJobs", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "AgentSystem",
            dependencies: ["AgentBasics", "AgentJobs", "AgentAPI", "LogClassifier", nioPosix, subprocess],
            path: "Guest/AgentSystem", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "AgentLogMonitor", dependencies: ["AgentBasics", "LogClassifier", "Systemd", logging, nioPosix],
            path: "Guest/AgentLogMonitor", exclude: ["README.md"], swiftSettings: swiftSettings),
        .target(
            name: "AgentCore",
            dependencies: [
                "AgentBasics", "AgentJobs", "AgentSystem", "AgentLogMonitor", "AgentAPI", "SQLite", "Systemd",
                "LogClassifier", "Memory", logging, serviceLifecycle,
                unixSignals,
                hummingbird, hummingbirdTLS, nioSSL, crypto, httpTypes, nioCore,
                nioPosix, nioHTTP1, "Packs", subprocess, "AgentAPIGenerated", openAPIRuntime,
            ],
            path: "Guest/AgentCore",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MCPStdio", dependencies: [nioPosix], path: "Guest/MCPStdio", exclude: ["README.md"],
            swiftSettings: swiftSettings),
        .executableTarget(
            name: "SomnusAgent",
            dependencies: [
                "AgentCore", "AgentBasics", "AgentSystem", "AgentAPI", "LogClassifier", "MCPStdio", argumentParser,
                logging, serviceLifecycle,
                nioCore, nioPosix,
            ],
            path: "Guest/SomnusAgent",
            exclude: ["steady-functions.order", "rodata.ld"],
            swiftSettings: swiftSettings,
            // `-static-stdlib` links with `--export-dynamic`, which exports every symbol of every module and so keeps
            // all of them alive through `--gc-sections`; the agent needs no dynamic symbols of its own (3 MB less).
            // lld packs the 1.8 MB of relative relocations into a few KB (DT_RELR, glibc ≥ 2.36) and places the
            // functions an idle agent runs side by side (`Tests/Benchmarks/agent-function-order.sh`), so its
            // resident code is the size of those functions, not of the 64 KiB blocks around each. In release builds
            // lld keeps one copy of functions whose code is identical (generic code, value witnesses, the generated
            // server's per-operation closures, the two BoringSSL copies; 2.2 MB less). Swift code cannot compare
            // function addresses; data is never folded (Swift objects carry no table of the addresses that do not
            // matter, so lld treats all of them as mattering), nor are functions with exception tables. `rodata.ld`
            // keeps the read-only data out of the writable segment, where its pages could not be given back.
            linkerSettings: [
                .unsafeFlags(
                    [
                        "-Xlinker", "--no-export-dynamic", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker",
                        "pack-relative-relocs", "-Xlinker",
                        "--symbol-ordering-file=\(Context.packageDirectory)/Guest/SomnusAgent/steady-functions.order",
                        "-Xlinker", "--no-warn-symbol-ordering", "-Xlinker", "-T", "-Xlinker",
                        "\(Context.packageDirectory)/Guest/SomnusAgent/rodata.ld",
                    ], .when(platforms: [.linux])),
                .unsafeFlags(["-Xlinker", "--icf=all"], .when(platforms: [.linux], configuration: .release)),
            ]
        ),

        // MARK: Tests
        .executableTarget(
            name: "SomnusBench",
            dependencies: [
                "SupervisorCore", "AgentCore", "AgentBasics", "AgentLogMonitor", "AgentAPI", "Curl", "LogClassifier",
                "Memory",
                argumentParser, logging,
                crypto,
            ],
            path: "Tests/Benchmarks",
            exclude: ["agent-function-order.sh", "fast-start.sh", "pack-phases.sh"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MCPStdioTests", dependencies: ["MCPStdio"], path: "Tests/MCPStdioTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentAPITests", dependencies: ["AgentAPI"], path: "Tests/AgentAPITests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "PacksTests", dependencies: ["Packs"], path: "Tests/PacksTests", exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SQLiteTests", dependencies: ["SQLite"], path: "Tests/SQLiteTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LibvirtTests", dependencies: ["Libvirt"], path: "Tests/LibvirtTests",
            swiftSettings: swiftSettings),
        .target(
            name: "SSHTestSupport", dependencies: ["SSH"], path: "Tests/SSHTestSupport", swiftSettings: swiftSettings),
        .testTarget(
            name: "SSHTests", dependencies: ["SSH", "SSHTestSupport"], path: "Tests/SSHTests",
            swiftSettings: swiftSettings),
        .testTarget(name: "CurlTests", dependencies: ["Curl"], path: "Tests/CurlTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "SystemdTests", dependencies: ["Systemd"], path: "Tests/SystemdTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "LogClassifierTests", dependencies: ["LogClassifier"], path: "Tests/LogClassifierTests",
            exclude: ["Data"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentBasicsTests", dependencies: ["AgentBasics", "AgentAPI"], path: "Tests/AgentBasicsTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentJobsTests", dependencies: ["AgentJobs", "AgentBasics", "AgentAPI"],
            path: "Tests/AgentJobsTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentSystemTests", dependencies: ["AgentSystem"], path: "Tests/AgentSystemTests",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentLogMonitorTests", dependencies: ["AgentLogMonitor", "AgentBasics", "LogClassifier", logging],
            path: "Tests/AgentLogMonitorTests", swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentCoreTests",
            dependencies: [
                "AgentCore", "AgentBasics", "AgentJobs", "AgentSystem", "AgentLogMonitor", "AgentAPI", "Curl",
                "LogClassifier", hummingbird, hummingbirdTesting, httpTypes, nioCore, nioPosix, logging,
                serviceLifecycle,
                "Packs",
            ],
            path: "Tests/AgentCoreTests", swiftSettings: swiftSettings),
        .testTarget(name: "SomnusCLITests", path: "Tests/SomnusCLITests", swiftSettings: swiftSettings),
        .testTarget(
            name: "EndToEndTests", path: "Tests/EndToEnd", exclude: ["README.md", "boot-smoke.sh"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "MemoryTests", dependencies: ["Memory", "MemoryCrashWriter", "AgentAPI", "SQLite", crypto, logging],
            path: "Tests/MemoryTests",
            exclude: ["Data", "Reference"], swiftSettings: swiftSettings),
        .executableTarget(
            name: "MemoryCrashWriter", dependencies: ["Memory", "AgentAPI", logging], path: "Tests/MemoryCrashWriter",
            swiftSettings: swiftSettings),
        .testTarget(
            name: "SupervisorCoreTests",
            dependencies: [
                "SupervisorCore", "AgentAPI", "Libvirt", "AgentCore", "AgentBasics", "AgentSystem", "Curl", "SSH",
                "Packs",
                "SSHTestSupport", serviceLifecycle, "AgentAPIGenerated", "AgentAPIClient",
                openAPIRuntime,
            ],
            path: "Tests/SupervisorCoreTests", swiftSettings: swiftSettings),
    ]
)

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
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")

let package = Package(
    name: "Somnus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "somnus", targets: ["SomnusCLI"]),
        .executable(name: "somnus-agent", targets: ["SomnusAgent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // MARK: Shared
        .target(name: "AgentAPI", path: "Shared/AgentAPI", swiftSettings: swiftSettings),
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
        .target(name: "Libvirt", dependencies: ["CLibvirt"], path: "Host/Libvirt", swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CSSH2",
            path: "Host/CSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        .target(name: "SSH", dependencies: ["CSSH2"], path: "Host/SSH", swiftSettings: swiftSettings),
        .systemLibrary(
            name: "CCurl",
            path: "Host/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "Curl", dependencies: ["CCurl"], path: "Host/Curl", swiftSettings: swiftSettings),
        .target(
            name: "SupervisorCore",
            dependencies: ["AgentAPI", "SQLite", "Libvirt", "SSH", "Curl", logging, serviceLifecycle],
            path: "Host/SupervisorCore",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SomnusCLI",
            dependencies: ["SupervisorCore", "AgentAPI", argumentParser, logging, serviceLifecycle],
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
        .target(name: "Systemd", dependencies: ["CSystemd"], path: "Guest/Systemd", swiftSettings: swiftSettings),
        .target(
            name: "LogClassifier",
            path: "Guest/LogClassifier",
            exclude: ["README.md"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentCore",
            dependencies: ["AgentAPI", "SQLite", "Systemd", logging, serviceLifecycle],
            path: "Guest/AgentCore",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "SomnusAgent",
            dependencies: ["AgentCore", "AgentAPI", argumentParser, logging, serviceLifecycle],
            path: "Guest/SomnusAgent",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .testTarget(name: "AgentAPITests", dependencies: ["AgentAPI"], path: "Tests/AgentAPITests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "SQLiteTests", dependencies: ["SQLite"], path: "Tests/SQLiteTests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "LibvirtTests", dependencies: ["Libvirt"], path: "Tests/LibvirtTests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "SSHTests", dependencies: ["SSH"], path: "Tests/SSHTests", swiftSettings: swiftSettings),
        .testTarget(name: "CurlTests", dependencies: ["Curl"], path: "Tests/CurlTests", swiftSettings: swiftSettings),
        .testTarget(name: "SystemdTests", dependencies: ["Systemd"], path: "Tests/SystemdTests",
                    swiftSettings: swiftSettings),
        .testTarget(name: "LogClassifierTests", dependencies: ["LogClassifier"], path: "Tests/LogClassifierTests",
                    exclude: ["Data"], swiftSettings: swiftSettings),
        .testTarget(name: "AgentCoreTests", dependencies: ["AgentCore", "AgentAPI", "Curl"],
                    path: "Tests/AgentCoreTests", swiftSettings: swiftSettings),
        .testTarget(name: "SupervisorCoreTests", dependencies: ["SupervisorCore", "AgentAPI", "Libvirt"],
                    path: "Tests/SupervisorCoreTests", swiftSettings: swiftSettings),
    ]
)

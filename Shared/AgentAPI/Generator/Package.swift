// swift-tools-version: 6.2
import PackageDescription

// The tools that turn `../openapi.yaml` into committed code (`../generate.sh`): Apple's OpenAPI generator and a
// YAML-to-JSON converter for the document the agent serves. A package of its own, so that neither the generator nor
// its dependencies are resolved, built or linked by the Somnus package.
let package = Package(
    name: "AgentAPIGenerator",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-openapi-generator", exact: "1.14.3"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .executableTarget(
            name: "openapi-yaml-to-json",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        )
    ]
)

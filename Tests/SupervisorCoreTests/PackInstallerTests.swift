import AgentAPI
import AgentBasics
import AgentCore
import AgentSystem
import Curl
import Foundation
import Logging
import Packs
import SupervisorCore
import Testing

/// A real in-process agent on 127.0.0.1 whose packs install under a temporary root (never under `/`).
enum PackRootAgent {
    static func with(token: String, _ body: @Sendable (_ address: String, _ root: String) async throws -> Void)
        async throws
    {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "agent-packs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("agent.token").path
        try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let root = directory.appendingPathComponent("root").path
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: "127.0.0.1", port: 0), tokenFile: tokenFile,
            socketPath: directory.appendingPathComponent("run/agent.sock").path,
            dataDirectory: directory.appendingPathComponent("data").path, journal: false,
            monitorInterval: .seconds(5), packsDirectory: directory.appendingPathComponent("packs").path,
            packsRoot: root)
        var logger = Logger(label: "agent-pack-installer-test")
        logger.logLevel = .warning
        let server = AgentServer(
            configuration: configuration, logger: logger, execKillGrace: .seconds(1), handleSignals: false,
            maintenance: AgentMaintenanceOptions(
                freezer: IoctlFilesystemFreezer(mountsFile: "/nonexistent/mounts"),
                systemctlPath: "/nonexistent/systemctl", clockDriftThreshold: .seconds(86_400)))
        let (ready, continuation) = AsyncStream<AgentEndpoints>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run { continuation.yield($0) } }
            var iterator = ready.makeAsyncIterator()
            let endpoints = try #require(await iterator.next())
            do {
                try await body("127.0.0.1:\(endpoints.port)", root)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }
}

@Suite("Pack installer with the real cache, server and agent: pip pinned by the host's hashes", .serialized)
struct PackInstallerTests {
    static func pack(_ name: String) -> PackManifest {
        PackManifest(
            name: name, description: "d", version: "1", steps: [.pip(packages: ["tomli-w==1.0.0"])],
            verify: [
                PackCheck(
                    command: .argv(["sh", "-c", "python -c 'import tomli_w; print(tomli_w.dumps({\"a\": 1}))'"]),
                    expectOutput: "a = 1")
            ],
            diskEstimateMB: 1)
    }

    @Test(
        "wheels fetched from PyPI install through the agent with the host's hashes; a cached wheel swapped afterwards is refused by pip",
        .timeLimit(.minutes(5)))
    func hashesTravelToPip() async throws {
        let host = try await TestHost.make(agentRequestTimeout: .seconds(30))
        defer { host.cleanUp() }
        let vm = uniqueName("pk")
        _ = try await host.manager.create(name: vm)
        let logger = Logger(label: "pack-installer-test")
        let cache = PackCache(layout: host.manager.layout, logger: logger)
        let good = Self.pack("tomli_good")
        let swapped = Self.pack("tomli_swapped")
        let report = try await cache.fetch([good, swapped], dpkgStatus: nil)
        let lock = try #require(report.pipRequirements["tomli_good"]?.first)
        #expect(lock.count == 1)
        #expect(lock.first?.hasPrefix("tomli_w==1.0.0 --hash=sha256:") == true, "\(lock)")
        let curl = try CurlClient()

        try await PackRootAgent.with(token: "tok") { address, root in
            try attachAgent(host, vm: vm, address: address, token: "tok")
            let client = try AgentConnector(manager: host.manager, curl: curl).client(
                for: try host.manager.record(vm), address: address)
            let installer = PackInstaller(
                manager: host.manager, client: client,
                takeSnapshot: { _, _, _ throws(SupervisorError) in
                    throw SupervisorError(.invalidState, "no snapshots in this test")
                },
                revertSnapshot: { _, _ throws(SupervisorError) in }, logger: logger)
            let outcome = try await PackCacheServer.serving(
                cache: cache, host: "127.0.0.1", port: 0, logger: logger
            ) { url throws(SupervisorError) -> [PackInstallResult] in
                let options = PackInstaller.Options(
                    snapshot: false, cacheURL: url, pipRequirements: report.pipRequirements,
                    pollInterval: .milliseconds(100))
                var results = await installer.install(vm: vm, packs: [good], options: options)
                // The file the guest downloads is no longer the one the host hashed.
                let wheel = cache.wheelsDirectory + "/" + (cache.wheelFiles().first { $0.hasPrefix("tomli_w-") } ?? "")
                do {
                    var bytes = try Data(contentsOf: URL(fileURLWithPath: wheel))
                    bytes.append(contentsOf: Array("tampered".utf8))
                    try bytes.write(to: URL(fileURLWithPath: wheel))
                } catch {
                    throw SupervisorError(.packFetch, "cannot tamper with \(wheel)", cause: error)
                }
                results += await installer.install(vm: vm, packs: [swapped], options: options)
                return results
            }
            #expect(outcome.count == 2)
            #expect(outcome.first?.outcome == .installed, "\(outcome)")
            #expect(FileManager.default.fileExists(atPath: root + "/opt/somnus/packs/tomli_good/venv/bin/python"))
            let refused = try #require(outcome.last)
            #expect(refused.outcome == .failed)
            #expect(refused.failedStep == 0)
            #expect(refused.failureOutput?.contains("THESE PACKAGES DO NOT MATCH THE HASHES") == true, "\(refused)")
            #expect(
                !FileManager.default.fileExists(
                    atPath: root + "/opt/somnus/packs/tomli_swapped/.requirements-step1.txt"))
        }
    }
}

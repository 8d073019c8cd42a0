import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
import Foundation
import Logging
import SupervisorCore
import Testing

@Suite("Health poller against real agent servers")
struct HealthPollerTests {
    @Test(
        "one sweep classifies healthy, hung, wrong token and wrong protocol version; the hung one costs one deadline",
        .timeLimit(.minutes(2)))
    func sweep() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let curl = try CurlClient()
        let hung = try CannedServer(response: nil)
        defer { hung.stop() }
        let wrongVersion = try CannedServer.wrongVersion()
        defer { wrongVersion.stop() }
        let names = (
            healthy: uniqueName("ok"), hung: uniqueName("hung"), token: uniqueName("tok"),
            version: uniqueName("ver"), stopped: uniqueName("off")
        )
        for name in [names.healthy, names.hung, names.token, names.version, names.stopped] {
            _ = try await host.manager.create(name: name)
        }
        for name in [names.healthy, names.hung, names.token, names.version] {
            try await host.manager.start(name: name)
        }
        try await RealAgent.with(token: "right") { address in
            try attachAgent(host, vm: names.healthy, address: address, token: "right")
            try attachAgent(host, vm: names.token, address: address, token: "wrong")
            try attachAgent(host, vm: names.hung, address: "127.0.0.1:\(hung.port)", token: "right")
            try attachAgent(host, vm: names.version, address: "127.0.0.1:\(wrongVersion.port)", token: "right")

            // The agent's first /v1/status hashes its own executable, here the whole test binary (about 150 MB):
            // on a loaded machine that takes longer than the poller's deadline. Wait until it has answered once.
            let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })
            let warmUp = AgentClient(
                address: "127.0.0.1", port: port, token: "right", timeout: .seconds(60), curl: curl)
            _ = try await warmUp.call { try await $0.getStatus().ok.body.json }

            let poller = HealthPoller(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl),
                logger: Logger(label: "test"))
            let clock = ContinuousClock()
            let started = clock.now
            let results = Dictionary(uniqueKeysWithValues: await poller.sweep().map { ($0.vm, $0) })
            let elapsed = clock.now - started
            // The per-request deadline is 2 s; the hung agent costs about one deadline, not one per VM.
            #expect(elapsed < .seconds(8), "sweep took \(elapsed)")

            #expect(results[names.healthy]?.state == .healthy, "\(String(describing: results[names.healthy]))")
            #expect(results[names.hung]?.state == .unreachable)
            #expect(results[names.hung]?.reason == .timeout)
            #expect(results[names.token]?.state == .unreachable)
            #expect(results[names.token]?.reason == .authRejected)
            #expect(results[names.version]?.state == .unreachable)
            #expect(results[names.version]?.reason == .versionMismatch)
            #expect(results[names.version]?.detail?.contains("protocol 99") == true)
            #expect(results[names.stopped]?.reason == .vmNotRunning)
            // Each observation is stored in the bounded history.
            #expect(try host.manager.inventory.healthHistory(of: names.healthy).first != nil)
        }
    }
}

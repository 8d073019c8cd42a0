import AgentAPI
import Curl
import Foundation
import SupervisorCore
import Synchronization
import Testing

/// Points a test-driver VM at an agent address and gives it a token.
func attachAgent(_ host: TestHost, vm: String, address: String, token: String) throws {
    var record = try host.manager.record(vm)
    record.address = address
    try host.manager.inventory.update(record)
    try (token + "\n").write(toFile: host.manager.layout.agentTokenPath(vm), atomically: true, encoding: .utf8)
}

@Suite("Snapshot coordinator: freeze, snapshot, thaw; revert, thaw, time, health")
struct SnapshotCoordinatorTests {
    static let curl: CurlClient? = try? CurlClient()

    /// Runs `body` with a started test-driver VM on a new test host and the shared curl client, then removes the host.
    private func withStartedVM(_ body: (TestHost, String, CurlClient) async throws -> Void) async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let curl = try #require(Self.curl)
        let name = uniqueName("snap")
        _ = try await host.manager.create(name: name)
        try await host.manager.start(name: name)
        try await body(host, name, curl)
    }

    @Test(
        "an unreachable agent still gets a snapshot, recorded as not quiesced with the reason", .timeLimit(.minutes(2)))
    func unreachableAgent() async throws {
        try await withStartedVM { host, name, curl in
            try attachAgent(host, vm: name, address: "127.0.0.1:\(try closedLoopbackPort())", token: "t")
            let lines = ProgressLines()
            let coordinator = SnapshotCoordinator(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl)
            ) { lines.append($0) }
            let snapshot = try await coordinator.takeSnapshot(vm: name, name: "s1", description: nil)
            #expect(!snapshot.quiesced)
            let reason = try #require(snapshot.quiesceReason)
            #expect(reason.hasPrefix("agent unreachable: "), "\(reason)")
            let stored = try host.manager.snapshots(vm: name)
            #expect(stored.map(\.name) == ["s1"])
            #expect(stored.first?.quiesced == false)
            #expect(stored.first?.quiesceReason == reason)
            #expect(lines.all.contains { $0.contains("freezing") })
        }
    }

    @Test("a VM without an agent address is recorded as not quiesced: no agent deployed")
    func noAgent() async throws {
        try await withStartedVM { host, name, curl in
            let coordinator = SnapshotCoordinator(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl))
            let snapshot = try await coordinator.takeSnapshot(vm: name, name: "s1", description: "d")
            #expect(!snapshot.quiesced)
            #expect(snapshot.quiesceReason == "agent unreachable: no agent deployed")
            let report = try await coordinator.revertSnapshot(vm: name, name: "s1")
            #expect(!report.agentReady)
            #expect(report.driftMilliseconds == nil)
        }
    }

    @Test("an agent whose freeze fails: not quiesced, with the agent's own message", .timeLimit(.minutes(2)))
    func freezeFails() async throws {
        try await withStartedVM { host, name, curl in
            try await RealAgent.with(token: "tok") { address in
                try attachAgent(host, vm: name, address: address, token: "tok")
                let coordinator = SnapshotCoordinator(
                    manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl))
                let snapshot = try await coordinator.takeSnapshot(vm: name, name: "s1", description: nil)
                #expect(!snapshot.quiesced)
                let reason = try #require(snapshot.quiesceReason)
                #expect(reason.hasPrefix("freeze failed: "), "\(reason)")
                #expect(reason.contains("/nonexistent/mounts"), "\(reason)")
            }
        }
    }

    @Test(
        "a healthy agent freezes and thaws around the snapshot; a revert thaws, pushes time and waits for ready",
        .timeLimit(.minutes(2)))
    func quiescedAndReverted() async throws {
        try await withStartedVM { host, name, curl in
            let freezer = RecordingFreezer()
            try await RealAgent.with(token: "tok", freezer: freezer) { address in
                try attachAgent(host, vm: name, address: address, token: "tok")
                let lines = ProgressLines()
                let coordinator = SnapshotCoordinator(
                    manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl)
                ) { lines.append($0) }
                let snapshot = try await coordinator.takeSnapshot(vm: name, name: "s1", description: nil)
                #expect(snapshot.quiesced)
                #expect(snapshot.quiesceReason == nil)
                #expect(freezer.calls.withLock { $0 } == ["freeze /pretend", "thaw /pretend"])
                let report = try await coordinator.revertSnapshot(vm: name, name: "s1")
                #expect(report.agentReady)
                #expect(report.thawed == [])
                let drift = try #require(report.driftMilliseconds)
                #expect(abs(drift) < 5_000)
                #expect(!report.timeCorrected)
                #expect(lines.all.contains { $0.contains("reverting") })
            }
        }
    }

    @Test(
        "a revert whose agent never gets ready times out naming the snapshot and the problem", .timeLimit(.minutes(2)))
    func revertAgentNeverReady() async throws {
        try await withStartedVM { host, name, curl in
            try attachAgent(host, vm: name, address: "127.0.0.1:\(try closedLoopbackPort())", token: "t")
            var coordinator = SnapshotCoordinator(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl))
            coordinator.readyDeadline = .seconds(2)
            _ = try await coordinator.takeSnapshot(vm: name, name: "s1", description: nil)
            let error = await #expect(throws: SupervisorError.self) {
                _ = try await coordinator.revertSnapshot(vm: name, name: "s1")
            }
            #expect(error?.code == .timeout)
            #expect(error?.message.contains("'s1'") == true)
            #expect(error?.message.contains("thaw") == true)
        }
    }
}

/// Collects progress lines from any thread.
final class ProgressLines: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

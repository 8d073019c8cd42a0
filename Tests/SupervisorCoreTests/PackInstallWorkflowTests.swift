import Foundation
import Logging
import Packs
import SupervisorCore
import Synchronization
import Testing

@Suite("Pack install as a SupervisorCore workflow: fetch, serve, install through the real agent", .serialized)
struct PackInstallWorkflowTests {
    static func pack(_ name: String, verifyOutput: String) -> PackManifest {
        PackManifest(
            name: name, description: "d", version: "1", steps: [.shell(PackShellStep(command: "true"))],
            verify: [PackCheck(command: .shell("echo ready"), expectOutput: verifyOutput)], diskEstimateMB: 1)
    }

    @Test("a VM without an agent is refused before anything is fetched")
    func noAgent() async throws {
        let host = try await TestHost.make(agentRequestTimeout: .seconds(30))
        defer { host.cleanUp() }
        let vm = uniqueName("pw")
        _ = try await host.manager.create(name: vm, profileName: "small")
        let logger = Logger(label: "pack-workflow-test")
        let cache = PackCache(layout: host.manager.layout, logger: logger)
        let workflow = PackInstallWorkflow(manager: host.manager, cache: cache, logger: logger)
        let events = Mutex(0)
        let error = await #expect(throws: SupervisorError.self) {
            try await workflow.run(PackInstallWorkflow.Request(vm: vm, packs: [Self.pack("a", verifyOutput: "ready")]))
            { _ in events.withLock { $0 += 1 } }
        }
        #expect(error?.code == .invalidState)
        #expect(error?.message == "'\(vm)' has no agent deployed yet (`somnus agent deploy`)")
        #expect(events.withLock { $0 } == 0)
        #expect(!FileManager.default.fileExists(atPath: cache.root))
        try await host.manager.delete(name: vm)
    }

    @Test(
        "packs install in order; the first failure is reported with its pack and the rest are skipped",
        .timeLimit(.minutes(3)))
    func installThenFail() async throws {
        let host = try await TestHost.make(agentRequestTimeout: .seconds(30))
        defer { host.cleanUp() }
        let vm = uniqueName("pw")
        _ = try await host.manager.create(name: vm, profileName: "small")
        let logger = Logger(label: "pack-workflow-test")
        let cache = PackCache(layout: host.manager.layout, logger: logger)
        let workflow = PackInstallWorkflow(manager: host.manager, cache: cache, logger: logger)
        let packs = [
            Self.pack("good", verifyOutput: "ready"), Self.pack("bad", verifyOutput: "never"),
            Self.pack("later", verifyOutput: "ready"),
        ]
        try await PackRootAgent.with(token: "tok") { address, _ in
            try attachAgent(host, vm: vm, address: address, token: "tok")
            let served = Mutex<[String]>([])
            let summary = try await workflow.run(
                PackInstallWorkflow.Request(vm: vm, packs: packs, snapshot: false, cachePort: 0, cacheHost: "127.0.0.1")
            ) { event in
                switch event {
                case .fetching(let names): served.withLock { $0.append("fetching " + names.joined(separator: ",")) }
                case .fetched(let report): served.withLock { $0.append("fetched warm=\(report.wasWarm)") }
                case .serving(let url):
                    served.withLock { $0.append(url.hasPrefix("http://127.0.0.1:") ? "serving" : url) }
                default: break
                }
            }
            #expect(served.withLock { $0 } == ["fetching good,bad,later", "fetched warm=true", "serving"])
            #expect(summary.vm == vm)
            #expect(summary.cacheWarm)
            #expect(summary.results.map(\.pack) == ["good", "bad", "later"])
            #expect(summary.results.map(\.outcome) == [.installed, .failed, .skipped])
            let failure = try #require(summary.failure)
            #expect(failure.code == .packInstall)
            #expect(failure.message.hasPrefix("pack bad failed: "), "\(failure.message)")
            #expect(!failure.message.contains("rolled back"))
        }
        try await host.manager.delete(name: vm)
    }
}

import Curl
import Foundation
import Libvirt
import Logging
import Packs
import SupervisorCore
import Testing

@Suite("Suspend and resume on libvirt's test driver")
struct SuspendCoordinatorTests {
    static let curl: CurlClient? = try? CurlClient()

    /// Runs `body` with a started test-driver VM on a new test host and the shared curl client, then removes the host.
    private func withStartedVM(_ body: (TestHost, String, CurlClient) async throws -> Void) async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let curl = try #require(Self.curl)
        let name = uniqueName("sus")
        _ = try await host.manager.create(name: name)
        try await host.manager.start(name: name)
        try await body(host, name, curl)
    }

    @Test("a suspended VM is listed as suspended and has a managed save image")
    func suspendedState() async throws {
        try await withStartedVM { host, name, curl in
            let coordinator = SuspendCoordinator(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl))
            let report = try await coordinator.suspend(vm: name)
            #expect(report.vm == name)
            #expect(report.suspendSeconds >= 0)
            #expect(try await host.manager.isSuspended(name: name))
            #expect(try await host.manager.status(name: name).state == "suspended")
            #expect(try await host.manager.list().map(\.state) == ["suspended"])
            #expect(try await !host.manager.isRunning(name: name))
            let domain = try VirConnection(uri: "test:///default").lookupDomain(name: name)
            #expect(try domain.hasManagedSaveImage())
        }
    }

    @Test("suspending a shut off or an already suspended VM is refused naming the VM and its state")
    func suspendRefused() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("off")
        _ = try await host.manager.create(name: name)
        let off = await #expect(throws: SupervisorError.self) { try await host.manager.suspend(name: name) }
        #expect(off?.code == .invalidState)
        #expect(off?.message == "'\(name)' is shut off, not running; only a running VM can be suspended")
        try await host.manager.start(name: name)
        try await host.manager.suspend(name: name)
        let again = await #expect(throws: SupervisorError.self) { try await host.manager.suspend(name: name) }
        #expect(again?.code == .invalidState)
        #expect(again?.message.contains("suspended already") == true)
        #expect(again?.message.contains("somnus vm resume \(name)") == true)
        let unknown = await #expect(throws: SupervisorError.self) { try await host.manager.suspend(name: "nosuch") }
        #expect(unknown?.code == .notFound)
    }

    @Test(
        "resume restores the VM, pushes the host's time and waits for a healthy agent on new connections",
        .timeLimit(.minutes(2)))
    func resumeWithAgent() async throws {
        try await withStartedVM { host, name, curl in
            try await RealAgent.with(token: "tok") { address in
                try attachAgent(host, vm: name, address: address, token: "tok")
                let lines = ProgressLines()
                let coordinator = SuspendCoordinator(
                    manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl)
                ) { lines.append($0) }
                _ = try await coordinator.suspend(vm: name)
                let report = try await coordinator.resume(vm: name)
                #expect(report.agentReady)
                let drift = try #require(report.driftMilliseconds)
                #expect(abs(drift) < 5_000)
                #expect(!report.timeCorrected)
                #expect(report.totalSeconds >= report.restoreSeconds)
                #expect(try await host.manager.status(name: name).state == "running")
                let domain = try VirConnection(uri: "test:///default").lookupDomain(name: name)
                #expect(try !domain.hasManagedSaveImage())
                #expect(lines.all.contains { $0.contains("saving the memory of \(name)") })
                #expect(lines.all.contains { $0.contains("restoring the memory of \(name)") })
            }
        }
    }

    @Test("a resume whose agent never gets healthy times out naming the VM and the problem", .timeLimit(.minutes(2)))
    func resumeAgentNeverReady() async throws {
        try await withStartedVM { host, name, curl in
            try attachAgent(host, vm: name, address: "127.0.0.1:\(try closedLoopbackPort())", token: "t")
            var coordinator = SuspendCoordinator(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl))
            coordinator.readyDeadline = .seconds(2)
            _ = try await coordinator.suspend(vm: name)
            let error = await #expect(throws: SupervisorError.self) { _ = try await coordinator.resume(vm: name) }
            #expect(error?.code == .timeout)
            #expect(error?.message.contains("'\(name)' was resumed but its agent was not ready") == true)
            #expect(error?.message.contains("time: ") == true)
            // The VM runs: the restore itself succeeded.
            #expect(try await host.manager.isRunning(name: name))
        }
    }

    @Test("resuming a VM that is not suspended is refused with its state and the command that starts it")
    func resumeRefused() async throws {
        try await withStartedVM { host, name, curl in
            let coordinator = SuspendCoordinator(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl))
            let running = await #expect(throws: SupervisorError.self) { _ = try await coordinator.resume(vm: name) }
            #expect(running?.code == .invalidState)
            #expect(running?.message.hasPrefix("'\(name)' is running, not suspended") == true)
            _ = try await host.manager.stop(name: name, deadline: .seconds(5))
            let off = await #expect(throws: SupervisorError.self) { _ = try await coordinator.resume(vm: name) }
            #expect(off?.message.contains("somnus vm start \(name)") == true)
        }
    }

    @Test("a VM without an agent resumes without a time push and reports no agent")
    func resumeWithoutAgent() async throws {
        try await withStartedVM { host, name, curl in
            let coordinator = SuspendCoordinator(
                manager: host.manager, connector: try AgentConnector(manager: host.manager, curl: curl))
            _ = try await coordinator.suspend(vm: name)
            let report = try await coordinator.resume(vm: name)
            #expect(!report.agentReady)
            #expect(report.driftMilliseconds == nil)
            #expect(try await host.manager.isRunning(name: name))
        }
    }

    @Test("snapshots and profile changes of a suspended VM are refused naming the VM and `somnus vm resume`")
    func refusals() async throws {
        try await withStartedVM { host, name, _ in
            _ = try await host.manager.createSnapshot(vm: name, name: "before")
            try await host.manager.suspend(name: name)
            let hint = "'\(name)' is suspended; resume it with `somnus vm resume \(name)` before "
            let create = await #expect(throws: SupervisorError.self) {
                _ = try await host.manager.createSnapshot(vm: name, name: "s1")
            }
            #expect(create?.code == .invalidState)
            #expect(create?.message == hint + "taking a snapshot")
            let revert = await #expect(throws: SupervisorError.self) {
                try await host.manager.revertSnapshot(vm: name, name: "before")
            }
            #expect(revert?.message == hint + "reverting it to a snapshot")
            let profile = await #expect(throws: SupervisorError.self) {
                _ = try await host.manager.applyProfile(name: name, profileName: "small")
            }
            #expect(profile?.message == hint + "changing its profile")
            // Nothing was lost: the VM is still suspended.
            #expect(try await host.manager.isSuspended(name: name))
        }
    }

    @Test("a pack install on a suspended VM is refused before anything is fetched")
    func packRefused() async throws {
        try await withStartedVM { host, name, _ in
            try attachAgent(host, vm: name, address: "127.0.0.1:\(try closedLoopbackPort())", token: "t")
            try await host.manager.suspend(name: name)
            let logger = Logger(label: "test")
            let cache = PackCache(layout: host.manager.layout, logger: logger)
            let workflow = PackInstallWorkflow(manager: host.manager, cache: cache, logger: logger)
            let pack = PackManifest(
                name: "a", description: "d", version: "1", steps: [.shell(PackShellStep(command: "true"))],
                verify: [], diskEstimateMB: 1)
            let error = await #expect(throws: SupervisorError.self) {
                _ = try await workflow.run(PackInstallWorkflow.Request(vm: name, packs: [pack]))
            }
            #expect(error?.code == .invalidState)
            #expect(
                error?.message
                    == "'\(name)' is suspended; resume it with `somnus vm resume \(name)` before installing packs")
            #expect(!FileManager.default.fileExists(atPath: cache.root))
        }
    }

    @Test("deleting a suspended VM removes its domain together with the save image")
    func deleteSuspended() async throws {
        try await withStartedVM { host, name, _ in
            try await host.manager.suspend(name: name)
            try await host.manager.delete(name: name)
            let error = #expect(throws: VirError.self) {
                try VirConnection(uri: "test:///default").lookupDomain(name: name)
            }
            #expect(error?.code == .noDomain)
            #expect(try host.manager.inventory.vm(named: name) == nil)
        }
    }

    @Test("the reconciler reports no difference for a suspended VM")
    func reconcile() async throws {
        try await withStartedVM { host, name, _ in
            try await host.manager.suspend(name: name)
            let findings = try await Reconciler(manager: host.manager, logger: Logger(label: "test")).reconcile()
            #expect(!findings.contains { $0.name == name })
        }
    }

    @Test("every created domain carries a VM generation ID, so a restore gives the guest a new one")
    func genid() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("gen")
        _ = try await host.manager.create(name: name)
        let xml = try VirConnection(uri: "test:///default").lookupDomain(name: name).xmlDescription(flags: .inactive)
        #expect(xml.contains("<genid>"))
    }
}

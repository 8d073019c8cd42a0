import Foundation
import Logging

/// Suspends VMs to libvirt's managed save file and resumes them with the agent's help: after the restore the
/// host's time is pushed to the guest and the agent's health is waited for.
///
/// The guest's entropy needs no request: every domain carries a VM generation ID (`<genid/>`), which changes on
/// each restore and makes the guest's kernel reseed its random number generator.
public struct SuspendCoordinator: Sendable {
    /// The VM manager that talks to libvirt and owns the inventory.
    public let manager: VMManager
    /// Makes a client for a VM's agent, or `nil` when the VM has no agent to ask.
    let clientFactory: @Sendable (VMRecord) -> AgentClient?
    /// Receives a line for each phase and whenever what a wait is waiting for changes.
    let progress: @Sendable (String) -> Void
    /// How long a resume waits for the agent to answer healthy.
    public var readyDeadline: Duration = .seconds(120)

    /// Creates a coordinator that reaches each VM's agent at its recorded address with its credentials.
    /// - Parameters:
    ///   - manager: The VM manager.
    ///   - connector: How agents are reached.
    ///   - progress: Receives progress lines.
    public init(
        manager: VMManager, connector: AgentConnector, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.manager = manager
        self.clientFactory = { record in try? connector.client(for: record) }
        self.progress = progress
    }

    /// Suspends a running VM.
    /// - Parameter vm: The VM.
    /// - Returns: How long the save took.
    /// - Throws: ``SupervisorError/Code/invalidState`` when the VM is not running, ``SupervisorError/Code/libvirt``
    ///   when the save fails.
    public func suspend(vm: String) async throws(SupervisorError) -> SuspendReport {
        _ = try manager.record(vm)
        let clock = ContinuousClock()
        let started = clock.now
        progress("saving the memory of \(vm)")
        try await manager.suspend(name: vm)
        return SuspendReport(vm: vm, suspendSeconds: (clock.now - started) / .seconds(1))
    }

    /// Resumes a suspended VM from its managed save file, pushes the host's time to the guest and waits until
    /// the agent answers healthy (on new connections: the guest's TCP state is the saved one).
    /// - Parameter vm: The VM.
    /// - Returns: What the resume did and how long it took.
    /// - Throws: ``SupervisorError/Code/invalidState`` naming the VM's state when it is not suspended,
    ///   ``SupervisorError/Code/libvirt`` when the restore fails and ``SupervisorError/Code/timeout`` when the
    ///   agent is not healthy within ``readyDeadline``.
    public func resume(vm: String) async throws(SupervisorError) -> ResumeReport {
        guard try await manager.isSuspended(name: vm) else {
            let state = try await manager.status(name: vm).state
            throw SupervisorError(
                .invalidState,
                "'\(vm)' is \(state), not suspended; only a VM suspended with `somnus vm suspend \(vm)` resumes "
                    + "(start a shut off one with `somnus vm start \(vm)`)")
        }
        let clock = ContinuousClock()
        let started = clock.now
        progress("restoring the memory of \(vm)")
        try await manager.start(name: vm)
        var report = ResumeReport(vm: vm, restoreSeconds: (clock.now - started) / .seconds(1))
        let record = try manager.record(vm)
        if let shared = clientFactory(record) {
            let outcome = try await shared.withNewConnections().settleAfterRestore(
                vm: vm, thaw: false, deadline: readyDeadline, restored: "was resumed", progress: progress)
            report.driftMilliseconds = outcome.driftMilliseconds
            report.timeCorrected = outcome.timeCorrected
            report.agentReady = true
        }
        report.totalSeconds = (clock.now - started) / .seconds(1)
        manager.logger.info(
            "vm resumed",
            metadata: [
                "vm.name": "\(vm)", "vm.agent_ready": "\(report.agentReady)",
                "time.drift_ms": "\(report.driftMilliseconds ?? 0)",
            ])
        return report
    }
}

/// What `vm suspend` did.
public struct SuspendReport: Codable, Sendable, Equatable {
    /// The VM.
    public var vm: String
    /// Seconds libvirt took to save the memory and stop the VM.
    public var suspendSeconds: Double

    /// Creates a report.
    public init(vm: String, suspendSeconds: Double) {
        self.vm = vm
        self.suspendSeconds = suspendSeconds
    }

    enum CodingKeys: String, CodingKey {
        case vm
        case suspendSeconds = "suspend_seconds"
    }
}

/// What `vm resume` (and `vm start` of a suspended VM) did.
public struct ResumeReport: Codable, Sendable, Equatable {
    /// The VM.
    public var vm: String
    /// Seconds libvirt took to restore the memory and run the VM.
    public var restoreSeconds: Double
    /// Guest clock minus host clock before the correction, in milliseconds; `nil` when the VM has no agent.
    public var driftMilliseconds: Double?
    /// Whether the agent set the guest's clock.
    public var timeCorrected: Bool
    /// Whether the agent answered healthy afterwards; `false` when the VM has no agent.
    public var agentReady: Bool
    /// Seconds from the start of the restore until the agent was healthy (or the restore ended, without agent).
    public var totalSeconds: Double

    /// Creates a report.
    public init(
        vm: String, restoreSeconds: Double, driftMilliseconds: Double? = nil, timeCorrected: Bool = false,
        agentReady: Bool = false, totalSeconds: Double = 0
    ) {
        self.vm = vm
        self.restoreSeconds = restoreSeconds
        self.driftMilliseconds = driftMilliseconds
        self.timeCorrected = timeCorrected
        self.agentReady = agentReady
        self.totalSeconds = totalSeconds
    }

    enum CodingKeys: String, CodingKey {
        case vm
        case restoreSeconds = "restore_seconds"
        case driftMilliseconds = "drift_ms"
        case timeCorrected = "time_corrected"
        case agentReady = "agent_ready"
        case totalSeconds = "total_seconds"
    }
}

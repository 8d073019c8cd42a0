import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
public import Foundation
import Logging

/// Takes and reverts snapshots with the agent's help: filesystems frozen around a snapshot, and after a
/// revert the filesystems thawed, the host's time pushed and the agent's readiness re-checked.
///
/// The agent is optional at every step: a snapshot of a VM whose agent does not answer is still taken and
/// recorded as not quiesced with the reason.
public struct SnapshotCoordinator: Sendable {
    /// The VM manager that talks to libvirt and owns the inventory.
    public let manager: VMManager
    /// Makes a client for a VM's agent, or `nil` when the VM has no agent to ask.
    let clientFactory: @Sendable (VMRecord) -> AgentClient?
    /// Receives a line for each phase and whenever what a wait is waiting for changes.
    let progress: @Sendable (String) -> Void
    /// How long the agent keeps filesystems frozen before thawing on its own.
    public var freezeDeadline: Duration = .seconds(10)
    /// How long a revert waits for the agent to answer ready.
    public var readyDeadline: Duration = .seconds(180)

    /// Creates a coordinator whose agent clients come from an explicit factory.
    /// - Parameters:
    ///   - manager: The VM manager.
    ///   - clientFactory: A client for a VM's agent, or `nil` when it has none.
    ///   - progress: Receives progress lines.
    public init(
        manager: VMManager, clientFactory: @escaping @Sendable (VMRecord) -> AgentClient?,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.manager = manager
        self.clientFactory = clientFactory
        self.progress = progress
    }

    /// Creates a coordinator that reaches each VM's agent at its recorded address with its token.
    /// - Parameters:
    ///   - manager: The VM manager.
    ///   - connector: How agents are reached.
    ///   - progress: Receives progress lines.
    public init(
        manager: VMManager, connector: AgentConnector, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.init(
            manager: manager,
            clientFactory: { record in try? connector.client(for: record) }, progress: progress)
    }

    /// A snapshot name from the current time, `snap-<unix seconds>`.
    public static func defaultName(_ now: Date = Date()) -> String {
        "snap-\(Int(now.timeIntervalSince1970))"
    }

    /// Freezes the guest's filesystems through the agent, takes the libvirt snapshot, thaws, and records
    /// whether it was quiesced and why not.
    /// - Parameters:
    ///   - vm: The VM.
    ///   - name: The snapshot's name.
    ///   - description: Free text stored with it.
    /// - Returns: The stored record.
    /// - Throws: ``SupervisorError`` when the VM or libvirt fails; an agent that cannot freeze is not an error.
    public func takeSnapshot(vm: String, name: String, description: String?) async throws(SupervisorError)
        -> SnapshotRecord
    {
        let record = try manager.record(vm)
        let client = clientFactory(record)
        let seconds = max(1, min(60, Int(freezeDeadline.components.seconds)))
        let progress = self.progress
        progress("freezing filesystems of \(vm)")
        let snapshot = try await manager.createSnapshot(
            vm: vm, name: name, description: description ?? "",
            quiesce: {
                await SnapshotCoordinator.freeze(client, seconds: seconds)
            },
            thaw: {
                progress("thawing filesystems of \(vm)")
                await SnapshotCoordinator.thawOnce(client, logger: manager.logger, vm: vm)
            })
        return snapshot
    }

    static func freeze(_ client: AgentClient?, seconds: Int) async -> QuiesceOutcome {
        guard let client else {
            return QuiesceOutcome(quiesced: false, reason: "agent unreachable: no agent deployed")
        }
        do {
            let answer = try await client.call(timeout: AgentClient.filesystemDeadline) {
                try await $0.freezeFilesystems(body: .json(FreezeRequest(timeoutSeconds: seconds))).ok.body.json
            }
            return QuiesceOutcome(quiesced: true, reason: answer.frozen.isEmpty ? "no filesystems to freeze" : nil)
        } catch {
            if error.code == .httpStatus {
                return QuiesceOutcome(quiesced: false, reason: "freeze failed: \(AgentClient.message(of: error))")
            }
            return QuiesceOutcome(quiesced: false, reason: "agent unreachable: \(error.message)")
        }
    }

    static func thawOnce(_ client: AgentClient?, logger: Logger, vm: String) async {
        guard let client else { return }
        do {
            _ = try await client.call(timeout: AgentClient.filesystemDeadline) { try await $0.thawFilesystems().ok }
        } catch {
            logger.warning(
                "thaw failed; the agent thaws on its own at its deadline",
                metadata: ["vm.name": "\(vm)", "error": "\(error.message)"])
        }
    }

    /// Reverts a VM to a snapshot, then thaws its filesystems (a snapshot taken while frozen comes back
    /// frozen), pushes the host's time and waits until the agent answers ready.
    /// - Parameters:
    ///   - vm: The VM.
    ///   - name: The snapshot.
    /// - Returns: What the revert did and how long it took.
    /// - Throws: ``SupervisorError/Code/notFound`` for an unknown snapshot, ``SupervisorError/Code/libvirt``
    ///   when the revert fails and ``SupervisorError/Code/timeout`` when the agent is not ready within
    ///   ``readyDeadline``.
    public func revertSnapshot(vm: String, name: String) async throws(SupervisorError) -> SnapshotRevertReport {
        let clock = ContinuousClock()
        let started = clock.now
        progress("reverting \(vm) to \(name)")
        try await manager.revertSnapshot(vm: vm, name: name)
        let revertSeconds = (clock.now - started) / .seconds(1)
        var report = SnapshotRevertReport(vm: vm, snapshot: name, revertSeconds: revertSeconds)
        let record = try manager.record(vm)
        guard let shared = clientFactory(record), try await manager.isRunning(name: vm) else {
            report.totalSeconds = (clock.now - started) / .seconds(1)
            return report
        }
        let client = try shared.withNewConnections()
        let outcome = try await client.settleAfterRestore(
            vm: vm, thaw: true, deadline: readyDeadline, restored: "was reverted to '\(name)'", progress: progress)
        report.thawed = outcome.thawed
        report.driftMilliseconds = outcome.driftMilliseconds
        report.timeCorrected = outcome.timeCorrected
        report.agentReady = true
        report.totalSeconds = (clock.now - started) / .seconds(1)
        manager.logger.info(
            "snapshot reverted and agent ready",
            metadata: [
                "vm.name": "\(vm)", "snapshot.name": "\(name)", "time.drift_ms": "\(report.driftMilliseconds ?? 0)",
            ])
        return report
    }
}

/// What `snapshot revert` did.
public struct SnapshotRevertReport: Codable, Sendable, Equatable {
    /// The VM.
    public var vm: String
    /// The snapshot reverted to.
    public var snapshot: String
    /// Seconds libvirt took to revert.
    public var revertSeconds: Double
    /// Mount points the agent thawed afterwards; `nil` when the agent was not asked.
    public var thawed: [String]?
    /// Guest clock minus host clock before the correction, in milliseconds; `nil` when not pushed.
    public var driftMilliseconds: Double?
    /// Whether the agent set the guest's clock.
    public var timeCorrected: Bool
    /// Whether the agent answered ready afterwards.
    public var agentReady: Bool
    /// Seconds from the start of the revert until the agent was ready (or the revert ended, without agent).
    public var totalSeconds: Double

    /// Creates a report.
    public init(
        vm: String, snapshot: String, revertSeconds: Double, thawed: [String]? = nil,
        driftMilliseconds: Double? = nil, timeCorrected: Bool = false, agentReady: Bool = false,
        totalSeconds: Double = 0
    ) {
        self.vm = vm
        self.snapshot = snapshot
        self.revertSeconds = revertSeconds
        self.thawed = thawed
        self.driftMilliseconds = driftMilliseconds
        self.timeCorrected = timeCorrected
        self.agentReady = agentReady
        self.totalSeconds = totalSeconds
    }

    enum CodingKeys: String, CodingKey {
        case vm, snapshot, thawed
        case revertSeconds = "revert_seconds"
        case driftMilliseconds = "drift_ms"
        case timeCorrected = "time_corrected"
        case agentReady = "agent_ready"
        case totalSeconds = "total_seconds"
    }
}

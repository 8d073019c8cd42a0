import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
import Foundation
public import Logging
public import Packs

/// Installs packs into one VM through its agent, one at a time, each behind a snapshot it can roll back to.
///
/// For each pack in order: skip it when the agent reports the same version installed; otherwise take a
/// snapshot named `before-PACK` (quiesced through the agent when possible), start the install job, follow its
/// steps and log lines, and wait for its result (steps, then the pack's verify checks). On any failure —
/// a failed step or check, the job vanishing, the VM stopping, the agent staying unreachable — revert to the
/// snapshot, wait until the agent is healthy, record the failure (failing step and output) in the inventory's
/// events and stop: later packs are reported as skipped.
public struct PackInstaller: Sendable {
    /// Takes a snapshot: VM, name, description → the stored record.
    public typealias TakeSnapshot =
        @Sendable (_ vm: String, _ name: String, _ description: String) async throws(SupervisorError) -> SnapshotRecord
    /// Reverts to a snapshot (and, ideally, waits until the agent is healthy): VM, name.
    public typealias RevertSnapshot = @Sendable (_ vm: String, _ name: String) async throws(SupervisorError) -> Void

    /// Settings of one install run.
    public struct Options: Sendable {
        /// Whether to snapshot before each pack (and so be able to roll back). On by default.
        public var snapshot: Bool
        /// The pack cache's URL as the guest reaches it, such as `http://192.168.213.1:9902`.
        public var cacheURL: String?
        /// Per pack name, one hashed requirements list per `pip` step (``PackFetchReport/pipRequirements``), sent
        /// to the agent so that pip installs with `--require-hashes`.
        public var pipRequirements: [String: [[String]]]
        /// The longest one pack's job may run, unless the pack's own step and check timeouts add up to more (plus
        /// 300 s).
        public var jobDeadline: Duration
        /// How long the agent may stay unreachable during a job before the install counts as failed.
        public var unreachableDeadline: Duration
        /// How long to wait for the agent to be healthy after a revert.
        public var healthyDeadline: Duration
        /// Time between two polls of the job.
        public var pollInterval: Duration

        /// Creates options; every value has the documented default.
        public init(
            snapshot: Bool = true, cacheURL: String? = nil, pipRequirements: [String: [[String]]] = [:],
            jobDeadline: Duration = .seconds(3600),
            unreachableDeadline: Duration = .seconds(180), healthyDeadline: Duration = .seconds(300),
            pollInterval: Duration = .milliseconds(500)
        ) {
            self.snapshot = snapshot
            self.cacheURL = cacheURL
            self.pipRequirements = pipRequirements
            self.jobDeadline = jobDeadline
            self.unreachableDeadline = unreachableDeadline
            self.healthyDeadline = healthyDeadline
            self.pollInterval = pollInterval
        }
    }

    private let manager: VMManager
    private let client: AgentClient
    private let takeSnapshot: TakeSnapshot
    private let revertSnapshot: RevertSnapshot
    private let logger: Logger

    /// Creates an installer for one VM.
    /// - Parameters:
    ///   - manager: The VM manager (inventory events, libvirt state).
    ///   - client: The VM's agent client.
    ///   - takeSnapshot: Takes the `before-PACK` snapshot.
    ///   - revertSnapshot: Reverts to it after a failure.
    ///   - logger: The installer's logger.
    public init(
        manager: VMManager, client: AgentClient, takeSnapshot: @escaping TakeSnapshot,
        revertSnapshot: @escaping RevertSnapshot, logger: Logger
    ) {
        self.manager = manager
        self.client = client
        self.takeSnapshot = takeSnapshot
        self.revertSnapshot = revertSnapshot
        self.logger = logger
    }

    /// Installs packs in the order given (resolve `requires` first with `PackCatalog.installOrder`).
    /// - Parameters:
    ///   - vm: The VM.
    ///   - packs: The packs, requirements first.
    ///   - options: Snapshot, cache URL and deadlines.
    ///   - onProgress: Receives each step, log line and phase as it happens.
    /// - Returns: One result per pack; after the first failure the rest are ``PackInstallResult/Outcome/skipped``.
    public func install(
        vm: String, packs: [PackManifest], options: Options = Options(),
        onProgress: @escaping @Sendable (PackProgress) -> Void = { _ in }
    ) async -> [PackInstallResult] {
        var results: [PackInstallResult] = []
        var stopped = false
        for pack in packs {
            if stopped {
                results.append(PackInstallResult(pack: pack.name, version: pack.version, outcome: .skipped))
                continue
            }
            let result = await installOne(vm: vm, pack: pack, options: options, onProgress: onProgress)
            onProgress(.finished(result))
            results.append(result)
            stopped = result.outcome.isFailure
        }
        return results
    }

    private func installOne(
        vm: String, pack: PackManifest, options: Options, onProgress: @escaping @Sendable (PackProgress) -> Void
    ) async -> PackInstallResult {
        var result = PackInstallResult(pack: pack.name, version: pack.version, outcome: .failed)
        let clock = ContinuousClock()

        // Already installed at this version: nothing to do, no snapshot.
        do {
            let state = try await client.call { try await $0.listPacks().ok.body.json }
            if state.installed.contains(where: {
                $0.name == pack.name && $0.version == pack.version && $0.result == .succeeded
            }) {
                result.outcome = .alreadyInstalled
                record(vm: vm, kind: "pack_installed", "pack \(pack.name) \(pack.version) was already installed")
                return result
            }
        } catch {
            result.error = "the agent of '\(vm)' did not list its packs: \(error)"
            record(vm: vm, kind: "pack_failed", "pack \(pack.name) \(pack.version): \(result.error ?? "")")
            return result
        }

        // Snapshot.
        if options.snapshot {
            let start = clock.now
            do {
                let name = try uniqueSnapshotName(vm: vm, base: "before-\(pack.name)")
                onProgress(.snapshot(pack: pack.name, name: name))
                let snapshot = try await takeSnapshot(vm, name, "before installing pack \(pack.name) \(pack.version)")
                result.snapshot = snapshot.name
                result.quiesced = snapshot.quiesced
            } catch {
                result.phases.snapshot = (clock.now - start) / .seconds(1)
                result.error = "cannot snapshot '\(vm)' before pack \(pack.name): \(error)"
                record(vm: vm, kind: "pack_failed", "pack \(pack.name) \(pack.version): \(result.error ?? "")")
                return result
            }
            result.phases.snapshot = (clock.now - start) / .seconds(1)
        }

        // Install and verify through the agent.
        let failure = await runJob(vm: vm, pack: pack, options: options, result: &result, onProgress: onProgress)
        guard let failure else {
            result.outcome = .installed
            record(
                vm: vm, kind: "pack_installed",
                "pack \(pack.name) \(pack.version) installed" + (result.snapshot.map { " (snapshot \($0))" } ?? ""))
            return result
        }
        result.error = failure

        // Roll back.
        guard let snapshot = result.snapshot else {
            record(
                vm: vm, kind: "pack_failed",
                "pack \(pack.name) \(pack.version) failed without a snapshot: \(failureSummary(result))")
            return result
        }
        let start = clock.now
        onProgress(.revert(pack: pack.name, snapshot: snapshot))
        do {
            try await revertSnapshot(vm, snapshot)
            // Connections used since the snapshot hang in the reverted guest: ask on new ones.
            try await waitHealthy(client: client.withNewConnections(), vm: vm, deadline: options.healthyDeadline)
            result.outcome = .rolledBack
        } catch {
            result.error = failure + "; rollback to \(snapshot) failed: \(error)"
        }
        result.phases.revert = (clock.now - start) / .seconds(1)
        record(
            vm: vm, kind: "pack_failed",
            "pack \(pack.name) \(pack.version) failed, "
                + (result.outcome == .rolledBack ? "rolled back to \(snapshot)" : "NOT rolled back") + ": "
                + failureSummary(result))
        return result
    }

    /// Runs the agent's job to its end, filling phases and failure details; returns the failure, or `nil`.
    private func runJob(
        vm: String, pack: PackManifest, options: Options, result: inout PackInstallResult,
        onProgress: @escaping @Sendable (PackProgress) -> Void
    ) async -> String? {
        let clock = ContinuousClock()
        let start = clock.now
        var verifyStart: ContinuousClock.Instant?
        defer {
            let end = clock.now
            result.phases.install = ((verifyStart ?? end) - start) / .seconds(1)
            if let verifyStart { result.phases.verify = (end - verifyStart) / .seconds(1) }
        }
        let id: String
        do {
            let request = PackInstallRequest(
                manifest: pack, cacheURL: options.cacheURL, pipRequirements: options.pipRequirements[pack.name])
            id = try await client.call {
                try await $0.installPack(path: .init(name: pack.name), body: .json(request)).accepted.body.json
            }.id
        } catch {
            return "the agent refused to install pack \(pack.name): \(error)"
        }
        // The pack's own timeouts can add up to more than the default; a job is never cut short before they run out.
        let jobDeadline = max(options.jobDeadline, .seconds(pack.timeoutSeconds + 300))
        var offset = 0
        var lastStep = -1
        var unreachableSince: ContinuousClock.Instant?
        while true {
            if clock.now - start > jobDeadline {
                return "pack \(pack.name) did not finish within \(jobDeadline)"
            }
            let job: PackJobResponse
            do {
                job = try await client.call {
                    try await $0.getPackJob(path: .init(id: id), query: .init(offset: Int64(offset))).ok.body.json
                }
                unreachableSince = nil
            } catch {
                if error.code == .httpStatus {
                    return "the agent lost job \(id) of pack \(pack.name) (it restarted?): \(error)"
                }
                if let running = try? await manager.isRunning(name: vm), !running {
                    return "the VM '\(vm)' stopped during the install of pack \(pack.name)"
                }
                let since = unreachableSince ?? clock.now
                unreachableSince = since
                if clock.now - since > options.unreachableDeadline {
                    return "the agent of '\(vm)' stayed unreachable for \(options.unreachableDeadline) during the "
                        + "install of pack \(pack.name): \(error)"
                }
                try? await Task.sleep(for: options.pollInterval)
                continue
            }
            for line in job.log {
                onProgress(.log(pack: pack.name, line: line))
            }
            offset = job.nextLogOffset
            if job.phase == .steps && job.stepIndex != lastStep {
                lastStep = job.stepIndex
                onProgress(
                    .step(pack: pack.name, index: job.stepIndex, count: job.stepCount, description: job.stepDescription)
                )
            }
            if job.phase != .steps && verifyStart == nil && !job.alreadyInstalled
                && (job.phase == .verify || !job.verify.isEmpty)
            {
                verifyStart = clock.now
                onProgress(.verify(pack: pack.name, checks: pack.verify.count))
            }
            if job.state.isFinal {
                result.failedStep = job.failedStep
                result.failureOutput = job.failureOutput
                if job.alreadyInstalled && job.state == .succeeded {
                    result.outcome = .alreadyInstalled
                }
                switch job.state {
                case .succeeded: return nil
                case .cancelled: return "the agent cancelled the install of pack \(pack.name)"
                default: return job.error ?? "pack \(pack.name) failed"
                }
            }
            try? await Task.sleep(for: options.pollInterval)
        }
    }

    private func waitHealthy(client: AgentClient, vm: String, deadline: Duration) async throws(SupervisorError) {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        var last: AgentHealth?
        while clock.now < end {
            let health = await client.probe(vm: vm)
            if health.state == .healthy { return }
            last = health
            try? await Task.sleep(for: .seconds(1))
        }
        throw SupervisorError(
            .timeout,
            "the agent of '\(vm)' was not healthy within \(deadline) after the revert: \(last?.summary ?? "no answer")")
    }

    private func uniqueSnapshotName(vm: String, base: String) throws(SupervisorError) -> String {
        let taken = Set(try manager.snapshots(vm: vm).map(\.name))
        var name = base
        var counter = 2
        while taken.contains(name) {
            name = "\(base)-\(counter)"
            counter += 1
        }
        return name
    }

    private func failureSummary(_ result: PackInstallResult) -> String {
        var text = result.error ?? "failed"
        if let step = result.failedStep { text += " (step \(step + 1))" }
        if let output = result.failureOutput, !output.isEmpty { text += "; output: \(output)" }
        return text
    }

    private func record(vm: String, kind: String, _ message: String) {
        do {
            try manager.inventory.recordEvent(vm: vm, kind: kind, message: message)
        } catch {
            logger.warning("cannot record a pack event", metadata: ["vm.name": "\(vm)", "error": "\(error)"])
        }
    }
}

/// What a ``PackInstaller`` reports while it works.
public enum PackProgress: Sendable {
    /// A snapshot is being taken.
    case snapshot(pack: String, name: String)
    /// A step started (0-based index).
    case step(pack: String, index: Int, count: Int, description: String)
    /// The verify checks started.
    case verify(pack: String, checks: Int)
    /// A log line of the job.
    case log(pack: String, line: String)
    /// The VM is being reverted to the snapshot.
    case revert(pack: String, snapshot: String)
    /// A pack is done.
    case finished(PackInstallResult)
}

/// The outcome of one pack in a ``PackInstaller`` run.
public struct PackInstallResult: Codable, Sendable, Equatable {
    /// How a pack ended.
    public enum Outcome: String, Codable, Sendable {
        /// Installed and verified.
        case installed
        /// The same version was installed already; nothing ran.
        case alreadyInstalled = "already_installed"
        /// Failed and the VM was reverted to the snapshot, the agent healthy again.
        case rolledBack = "rolled_back"
        /// Failed and was not rolled back (no snapshot, or the revert failed).
        case failed
        /// Not tried because an earlier pack failed.
        case skipped

        /// Whether the run stops here.
        public var isFailure: Bool { self == .rolledBack || self == .failed }
    }

    /// Seconds spent in each phase; `nil` for a phase that did not run.
    public struct Phases: Codable, Sendable, Equatable {
        /// Taking the snapshot.
        public var snapshot: Double?
        /// The pack's steps.
        public var install: Double?
        /// The pack's verify checks.
        public var verify: Double?
        /// Reverting and waiting for the agent.
        public var revert: Double?

        /// Creates phases.
        public init(snapshot: Double? = nil, install: Double? = nil, verify: Double? = nil, revert: Double? = nil) {
            self.snapshot = snapshot
            self.install = install
            self.verify = verify
            self.revert = revert
        }
    }

    /// The pack's name.
    public var pack: String
    /// The pack's version.
    public var version: String
    /// How it ended.
    public var outcome: Outcome
    /// The snapshot taken before it, when one was.
    public var snapshot: String?
    /// Whether that snapshot was quiesced.
    public var quiesced: Bool?
    /// Seconds per phase.
    public var phases: Phases
    /// The 0-based index of the step that failed, when one did.
    public var failedStep: Int?
    /// What failed.
    public var error: String?
    /// The end of the failing step's or check's output.
    public var failureOutput: String?

    /// Creates a result.
    public init(
        pack: String, version: String, outcome: Outcome, snapshot: String? = nil, quiesced: Bool? = nil,
        phases: Phases = Phases(), failedStep: Int? = nil, error: String? = nil, failureOutput: String? = nil
    ) {
        self.pack = pack
        self.version = version
        self.outcome = outcome
        self.snapshot = snapshot
        self.quiesced = quiesced
        self.phases = phases
        self.failedStep = failedStep
        self.error = error
        self.failureOutput = failureOutput
    }

    enum CodingKeys: String, CodingKey {
        case pack, version, outcome, snapshot, quiesced, phases, error
        case failedStep = "failed_step"
        case failureOutput = "failure_output"
    }
}

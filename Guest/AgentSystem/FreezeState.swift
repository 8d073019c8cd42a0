package import AgentAPI
package import AgentBasics
package import AgentJobs
import FoundationEssentials
import Synchronization

/// The freeze state machine: idle → freezing → frozen → idle, thawing on request or when the deadline passes.
package final class FreezeState: Sendable {
    private enum Phase {
        case idle
        case freezing
        case frozen(mountPoints: [String], generation: Int, guardProcess: ThawGuard?)
    }

    package let freezer: any FilesystemFreezer
    package let events: AgentEventLog
    /// Waits for each freeze's deadline.
    package let runner: JobRunnerService
    private let phase = Mutex<(phase: Phase, generation: Int)>((.idle, 0))

    package init(freezer: any FilesystemFreezer, events: AgentEventLog, runner: JobRunnerService) {
        self.freezer = freezer
        self.events = events
        self.runner = runner
    }

    /// Whether filesystems are frozen now.
    package var isFrozen: Bool {
        phase.withLock {
            if case .frozen = $0.phase { return true }
            return false
        }
    }

    /// Whether a freeze is under way or in force: background writers (the error monitor's state files) wait,
    /// since a write to a frozen filesystem blocks its thread until the thaw, and with one vCPU that thread may be
    /// the only one the thaw itself could run on.
    package var holdsWrites: Bool {
        phase.withLock {
            if case .idle = $0.phase { return false }
            return true
        }
    }

    /// Freezes every mount point of the freezer and hands the thaw at the deadline to the job runner, which thaws
    /// at once when the agent shuts down before the deadline.
    /// - Throws: ``AgentError`` `conflict` when already frozen or freezing; the freezer's error (after thawing
    ///   what was frozen) when one mount point fails; `shutting_down` (after thawing) once the agent's shutdown has
    ///   begun.
    package func freeze(timeout: Duration) async throws -> FreezeResponse {
        try phase.withLock { state throws(AgentError) in
            if case .idle = state.phase {
                state.phase = .freezing
            } else {
                throw AgentError(.conflict, "filesystems are already frozen; thaw them first")
            }
        }
        let freezer = freezer
        // Freeze and thaw run on threads of their own: a shared pool thread may be blocked writing to a frozen
        // filesystem (a memory write, a pack database update), and on a 1-vCPU guest the pool has one thread.
        // The guard exists before anything is frozen, and outlives the agent by a few seconds at most.
        let guardTimeout = timeout + .seconds(5)
        let outcome = await DetachedThread.run(name: "somnus-freeze") {
            () -> Result<([String], ThawGuard?), AgentError> in
            let guardProcess = freezer.startThawGuard(timeout: guardTimeout)
            var frozen: [String] = []
            do throws(AgentError) {
                for mountPoint in try freezer.mountPoints() {
                    try freezer.freeze(mountPoint)
                    frozen.append(mountPoint)
                }
                return .success((frozen, guardProcess))
            } catch {
                for mountPoint in frozen.reversed() { try? freezer.thaw(mountPoint) }
                guardProcess?.dismiss()
                return .failure(error)
            }
        }
        let frozen: [String]
        let guardProcess: ThawGuard?
        switch outcome {
        case .success(let value): (frozen, guardProcess) = value
        case .failure(let error):
            phase.withLock { $0.phase = .idle }
            throw error
        }
        let generation = phase.withLock { state in
            state.generation += 1
            state.phase = .frozen(mountPoints: frozen, generation: state.generation, guardProcess: guardProcess)
            return state.generation
        }
        let deadline = Date().timeIntervalSince1970 + Double(timeout.components.seconds)
        events.record(
            AgentEventKind.fsFrozen, "froze \(frozen.count) filesystems",
            metadata: ["mount_points": frozen.joined(separator: ","), "timeout_s": "\(timeout.components.seconds)"])
        let (shutdown, stop) = AsyncStream<Never>.makeStream()
        do {
            try runner.start("freeze", stop: { stop.finish() }) { [self] in
                let reason = await Self.waitForDeadline(timeout, unless: shutdown) ? "deadline" : "shutdown"
                _ = await thaw(generation: generation, reason: reason)
            }
        } catch {
            _ = await thaw(generation: generation, reason: "shutdown")
            throw error
        }
        return FreezeResponse(frozen: frozen, thawDeadline: deadline)
    }

    /// Waits `timeout`; `false` when `shutdown` ends (or the task is cancelled) first.
    private static func waitForDeadline(_ timeout: Duration, unless shutdown: AsyncStream<Never>) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await Task.sleep(for: timeout)) != nil }
            group.addTask {
                for await _ in shutdown {}
                return false
            }
            defer { group.cancelAll() }
            return await group.next() ?? false
        }
    }

    /// Thaws every filesystem the freezer lists, frozen by this process or not (start-up: a previous agent may
    /// have been killed mid-freeze), and records the thaw when there was one.
    /// - Returns: The mount points that were frozen.
    package func thawEverything() async -> [String] {
        let freezer = freezer
        let thawed = await DetachedThread.run(name: "somnus-thaw") { freezer.thawAll() }
        if !thawed.isEmpty {
            events.record(
                AgentEventKind.fsThawed, "thawed \(thawed.count) filesystems (start-up)",
                metadata: ["mount_points": thawed.joined(separator: ","), "reason": "start-up"])
        }
        return thawed
    }

    /// Waits while ``holdsWrites`` (polling every 50 ms); returns at once when nothing is frozen.
    package func waitUntilWritable() async throws {
        while holdsWrites { try await Task.sleep(for: .milliseconds(50)) }
    }

    /// Thaws what is frozen; nothing when nothing is.
    /// - Parameters:
    ///   - generation: Thaw only this freeze (the deadline's thaw must not end a later freeze); `nil` for any.
    ///   - reason: `request`, `deadline` or `shutdown`, for the event.
    package func thaw(generation: Int? = nil, reason: String = "request") async -> ThawResponse {
        let (mountPoints, guardProcess) = phase.withLock { state -> ([String], ThawGuard?) in
            guard case .frozen(let mountPoints, let current, let guardProcess) = state.phase else { return ([], nil) }
            if let generation, generation != current { return ([], nil) }
            state.phase = .idle
            return (mountPoints, guardProcess)
        }
        guard !mountPoints.isEmpty else { return ThawResponse(thawed: []) }
        let freezer = freezer
        let thawed = await DetachedThread.run(name: "somnus-thaw") { () -> [String] in
            var thawed: [String] = []
            for mountPoint in mountPoints.reversed() where (try? freezer.thaw(mountPoint)) != nil {
                thawed.append(mountPoint)
            }
            guardProcess?.dismiss()
            return thawed
        }
        events.record(
            AgentEventKind.fsThawed, "thawed \(thawed.count) filesystems (\(reason))",
            metadata: ["mount_points": thawed.joined(separator: ","), "reason": reason])
        return ThawResponse(thawed: thawed)
    }
}

import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
import Foundation

/// What a VM's agent did while the VM came back from saved memory (a snapshot revert or a resume).
struct AgentRestoreOutcome: Sendable {
    /// Mount points the agent thawed; `nil` when it was not asked to thaw.
    var thawed: [String]?
    /// Guest clock minus host clock before the correction, in milliseconds.
    var driftMilliseconds: Double?
    /// Whether the agent set the guest's clock.
    var timeCorrected = false
}

extension AgentClient {
    /// Brings a VM's agent back into step after the VM's memory was restored: thaws its filesystems when asked
    /// (a snapshot taken while frozen comes back frozen), pushes the host's time (the guest's clock stands where
    /// it stood when the memory was saved) and waits until the agent answers healthy.
    ///
    /// Call it on a client with new connections (``withNewConnections()``): the guest's TCP state is the saved
    /// one, and a connection that carried requests after the save hangs.
    /// - Parameters:
    ///   - vm: The VM, for messages.
    ///   - thaw: Whether to thaw filesystems first.
    ///   - deadline: How long to wait for every step together.
    ///   - restored: What happened to the VM, completing "'vm' … but its agent was not ready" in the timeout's
    ///     message, e.g. `was resumed`.
    ///   - progress: Receives a line whenever what the wait is waiting for changes.
    /// - Returns: What the agent did.
    /// - Throws: ``SupervisorError/Code/timeout`` naming the last problem when the agent is not healthy in time.
    func settleAfterRestore(
        vm: String, thaw: Bool, deadline: Duration, restored: String, progress: @Sendable (String) -> Void
    ) async throws(SupervisorError) -> AgentRestoreOutcome {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        var outcome = AgentRestoreOutcome()
        var lastProblem = "no answer yet"
        var shown = ""
        while clock.now < end {
            let line = "waiting for the agent of \(vm): \(lastProblem)"
            if line != shown {
                progress(line)
                shown = line
            }
            if thaw && outcome.thawed == nil {
                do {
                    outcome.thawed = try await call(timeout: Self.filesystemDeadline) {
                        try await $0.thawFilesystems().ok.body.json
                    }.thawed
                } catch {
                    lastProblem = "thaw: \(error.message)"
                    try? await Task.sleep(for: .milliseconds(500))
                    continue
                }
            }
            if outcome.driftMilliseconds == nil {
                do {
                    let answer = try await pushTime()
                    outcome.driftMilliseconds = answer.driftMilliseconds
                    outcome.timeCorrected = answer.corrected
                } catch {
                    lastProblem = "time: \(AgentClient.message(of: error))"
                    try? await Task.sleep(for: .milliseconds(500))
                    continue
                }
            }
            let health = await probe(vm: vm)
            if health.state == .healthy {
                // Once more now that the guest runs again: a TCG guest's clock keeps slipping for a moment after
                // its memory is restored (measured: 0.7 s after a resume whose first push was exact).
                if let again = try? await pushTime(), again.corrected {
                    outcome.timeCorrected = true
                }
                return outcome
            }
            lastProblem = health.summary + (health.detail.map { ": \($0)" } ?? "")
            try? await Task.sleep(for: .milliseconds(500))
        }
        throw SupervisorError(
            .timeout, "'\(vm)' \(restored) but its agent was not ready within \(deadline): \(lastProblem)")
    }

    /// Gives the agent the host's clock (`POST /v1/time`), which it applies when the drift exceeds 100 ms.
    private func pushTime() async throws(CurlError) -> TimeSyncResponse {
        let nanoseconds = Int(Date().timeIntervalSince1970 * 1_000_000_000)
        return try await call {
            try await $0.syncTime(body: .json(TimeSyncRequest(unixNanoseconds: nanoseconds))).ok.body.json
        }
    }
}

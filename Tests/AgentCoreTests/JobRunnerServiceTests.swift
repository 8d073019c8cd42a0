import AgentAPI
import AgentBasics
import AgentJobs
import AgentSystem
import Foundation
import HTTPTypes
import Packs
import ServiceLifecycle
import Testing

@testable import AgentCore

#if canImport(Glibc)
    import Glibc
#endif

@Suite("JobRunnerService", .timeLimit(.minutes(1)))
struct JobRunnerServiceTests {
    /// Waits until `condition` holds (every 20 ms).
    private func waitUntil(_ condition: () -> Bool) async throws {
        while !condition() { try await Task.sleep(for: .milliseconds(20)) }
    }

    /// Whether a process with this id exists.
    private func exists(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno != ESRCH
    }

    @Test(
        "Graceful shutdown cancels running exec jobs (SIGTERM, SIGKILL after the kill grace), refuses new ones, and ends when their processes are gone"
    )
    func execJobsAtShutdown() async throws {
        let events = AgentEventLog()
        let (table, plain, stubborn) = try await JobRunnerService.withRunning { runner, group in
            let table = ExecJobTable(runner: runner, killGrace: .milliseconds(500), events: events)
            let plain = try table.start(ExecRequest(shell: "echo $$; exec sleep 300"))
            let stubborn = try table.start(ExecRequest(shell: "trap '' TERM; echo $$; while :; do sleep 0.1; done"))
            try await waitUntil { !plain.response().stdout.isEmpty && !stubborn.response().stdout.isEmpty }
            await group.triggerGracefulShutdown()
            try await waitUntil { runner.isStopping }
            let refused = try #require(throws: AgentError.self) { try table.start(ExecRequest(argv: ["true"])) }
            #expect(refused.code == .shuttingDown)
            #expect(refused.message == "the agent is shutting down: no new exec job starts")
            #expect(APIErrorMiddleware<AgentRequestContext>.status(of: refused.code) == .serviceUnavailable)
            return (table, plain, stubborn)
        }
        // The runner's group has ended: both jobs have ended with it.
        let plainEnd = plain.response()
        #expect(plainEnd.state == .cancelled)
        #expect(plainEnd.signal == Int(SIGTERM))
        #expect(plainEnd.finishedAt != nil)
        let stubbornEnd = stubborn.response()
        #expect(stubbornEnd.state == .cancelled)
        #expect(stubbornEnd.signal == Int(SIGKILL))
        for job in [plainEnd, stubbornEnd] {
            let pid = try #require(pid_t(job.stdout.trimmingCharacters(in: .newlines)))
            #expect(!exists(pid), "job \(job.id)'s process \(pid) is still there")
        }
        #expect(table.runningCount == 0)
        let finished = events.events(after: 0, limit: 10).events.filter { $0.kind == AgentEventKind.jobFinished }
        #expect(finished.map { $0.metadata["state"] } == ["cancelled", "cancelled"])
        let late = try #require(throws: AgentError.self) { try table.start(ExecRequest(argv: ["true"])) }
        #expect(late.code == .shuttingDown)
    }

    @Test("Graceful shutdown cancels a running pack install, whose result is recorded as cancelled")
    func packJobAtShutdown() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("runner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let manifest = PackManifest(
            name: "test_sleeps", description: "d", version: "1",
            steps: [.shell(PackShellStep(command: "echo started; exec sleep 300"))], verify: [], diskEstimateMB: 0)
        let (table, job) = try await JobRunnerService.withRunning { runner, _ in
            let table = PackJobTable(
                runner: runner, catalogDirectory: directory.appendingPathComponent("packs").path,
                dataDirectory: directory.appendingPathComponent("data").path,
                settings: PackInstallSettings(root: directory.appendingPathComponent("root").path),
                events: AgentEventLog())
            let job = try table.start(name: "test_sleeps", request: PackInstallRequest(manifest: manifest))
            try await waitUntil { job.response(from: 0).log.contains("started") }
            return (table, job)
        }
        let response = job.response(from: 0)
        #expect(response.state == .cancelled)
        #expect(response.error == "step 1 (shell: echo started; exec sleep 300) was cancelled")
        #expect(response.finishedAt != nil)
        let recorded = try #require(try table.store.latest().first { $0.name == "test_sleeps" })
        #expect(recorded.result == .cancelled)
    }

    @Test("A freeze in force when the runner shuts down is thawed then; a freeze after shutdown began is refused")
    func freezeAtShutdown() async throws {
        let freezer = RecordingFreezer(mounts: ["/"])
        let state = try await JobRunnerService.withRunning { runner, _ in
            let state = FreezeState(freezer: freezer, events: AgentEventLog(), runner: runner)
            _ = try await state.freeze(timeout: .seconds(60))
            #expect(state.isFrozen)
            return state
        }
        #expect(!state.isFrozen)
        #expect(freezer.log == ["freeze /", "thaw /"])
        let thawed = state.events.events(after: 0, limit: 10).events.last
        #expect(thawed?.kind == AgentEventKind.fsThawed)
        #expect(thawed?.metadata["reason"] == "shutdown")
        await #expect(throws: AgentError.self) { try await state.freeze(timeout: .seconds(60)) }
        #expect(!state.isFrozen)
        #expect(freezer.log == ["freeze /", "thaw /", "freeze /", "thaw /"])
    }

    /// Cancellation is how the agent's group stops a service when another one failed.
    @Test("Cancelling the runner kills its running jobs at once and reports them cancelled")
    func cancelled() async throws {
        let runner = JobRunnerService()
        let table = ExecJobTable(runner: runner, killGrace: .seconds(30))
        let job = try table.start(ExecRequest(shell: "trap '' TERM; echo $$; while :; do sleep 0.1; done"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await runner.run() }
            try await waitUntil { !job.response().stdout.isEmpty }
            group.cancelAll()
        }
        let response = job.response()
        #expect(response.state == .cancelled)
        #expect(response.signal == Int(SIGKILL))
        let pid = try #require(pid_t(response.stdout.trimmingCharacters(in: .newlines)))
        #expect(!exists(pid))
    }
}

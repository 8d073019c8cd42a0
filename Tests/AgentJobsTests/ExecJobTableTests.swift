import AgentAPI
import AgentBasics
import AgentJobs
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("ExecJobTable", .timeLimit(.minutes(1)))
struct ExecJobTableTests {
    @Test("A full table of running jobs refuses new ones, and forgets finished ones to make room")
    func bounded() async throws {
        try await JobRunnerService.withRunning { runner, _ in
            let table = ExecJobTable(runner: runner, capacity: 1, killGrace: .milliseconds(200))
            let running = try table.start(ExecRequest(argv: ["sleep", "30"]))
            let error = try #require(throws: AgentError.self) { try table.start(ExecRequest(argv: ["true"])) }
            #expect(error.code == .tooManyRequests)
            #expect(error.message == "all 1 exec jobs are still running")
            #expect(running.cancel())
            while !running.isFinished { try await Task.sleep(for: .milliseconds(20)) }
            #expect(running.response().state == .cancelled)
            #expect(!running.cancel())
            let next = try table.start(ExecRequest(argv: ["true"]))
            #expect(try table.job(next.id) === next)
            let gone = try #require(throws: AgentError.self) { try table.job(running.id) }
            #expect(gone.code == .notFound)
            #expect(gone.message == "no exec job with id '\(running.id)'")
        }
    }

    @Test("A job ends with its process and its exit status even when a child it left keeps the pipes open")
    func leftoverChild() async throws {
        try await JobRunnerService.withRunning { runner, _ in
            let table = ExecJobTable(runner: runner)
            // The child outlives the suite's time limit: the job can only finish by not waiting for it.
            let job = try table.start(ExecRequest(shell: "sleep 300 & echo $!; echo err >&2; exit 3"))
            while !job.isFinished { try await Task.sleep(for: .milliseconds(20)) }
            let response = job.response()
            let child = try #require(pid_t(response.stdout.trimmingCharacters(in: .newlines)))
            defer { kill(child, SIGKILL) }
            #expect(kill(child, 0) == 0, "the job finished after the child it left")
            #expect(response.state == .exited)
            #expect(response.exitCode == 3)
            #expect(response.signal == nil)
            #expect(response.stderr == "err\n")
        }
    }

    @Test("A job's standard input is empty and a signal that ends it is reported as the signal")
    func stdinAndSignal() async throws {
        try await JobRunnerService.withRunning { runner, _ in
            let table = ExecJobTable(runner: runner)
            let reader = try table.start(ExecRequest(argv: ["cat"]))
            let killed = try table.start(ExecRequest(shell: "kill -USR1 $$"))
            for job in [reader, killed] {
                while !job.isFinished { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(reader.response().exitCode == 0)
            #expect(reader.response().stdout.isEmpty)
            #expect(killed.response().signal == Int(SIGUSR1))
            #expect(killed.response().exitCode == nil)
            #expect(killed.response().state == .exited)
        }
    }

    @Test("Output past the cap is dropped and flagged as truncated")
    func truncation() async throws {
        try await JobRunnerService.withRunning { runner, _ in
            let table = ExecJobTable(runner: runner)
            let job = try table.start(ExecRequest(shell: "yes a | head -c 1100000"))
            while !job.isFinished { try await Task.sleep(for: .milliseconds(20)) }
            let response = job.response()
            #expect(response.state == .exited)
            #expect(response.stdout.utf8.count == ExecJob.outputLimit)
            #expect(response.stdoutTruncated)
            #expect(!response.stderrTruncated)
        }
    }
}

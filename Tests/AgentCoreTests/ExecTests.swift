import AgentAPI
import AgentCore
import Foundation
import HTTPTypes
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite("Exec jobs", .timeLimit(.minutes(2)))
struct ExecTests {
    @Test("Runs argv to its end and reports exit code and both streams")
    func argv() async throws {
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(ExecRequest(argv: ["sh", "-c", "echo out; echo err >&2; exit 3"]))
            let job = try await agent.waitForJob(id)
            #expect(job.state == .exited)
            #expect(job.exitCode == 3)
            #expect(job.stdout == "out\n")
            #expect(job.stderr == "err\n")
            #expect(!job.stdoutTruncated && !job.stderrTruncated)
            #expect(job.error == nil)
            #expect(job.finishedAt != nil)
        }
    }

    @Test("Runs a shell line in cwd with added environment")
    func shellWithCwdAndEnv() async throws {
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(
                ExecRequest(shell: "pwd; echo $SOMNUS_TEST", cwd: agent.directory.path, env: ["SOMNUS_TEST": "yes"])
            )
            let job = try await agent.waitForJob(id)
            #expect(job.state == .exited)
            #expect(job.exitCode == 0)
            #expect(job.stdout == "\(agent.directory.resolvingSymlinksInPath().path)\nyes\n")
        }
    }

    @Test("A missing program is a failed_to_start job with a clear error, not a 500")
    func missingProgram() async throws {
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(ExecRequest(argv: ["somnus-no-such-program"]))
            let job = try await agent.waitForJob(id)
            #expect(job.state == .failedToStart)
            #expect(job.error == "cannot start 'somnus-no-such-program': No such file or directory")
            #expect(job.exitCode == nil)
        }
    }

    @Test("A missing working directory is a failed_to_start job naming it")
    func missingDirectory() async throws {
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(ExecRequest(argv: ["true"], cwd: "/nonexistent-somnus"))
            let job = try await agent.waitForJob(id)
            #expect(job.state == .failedToStart)
            #expect(job.error == "cannot start 'true': working directory '/nonexistent-somnus' does not exist")
        }
    }

    @Test("A job past its timeout is stopped and marked timed_out")
    func timeout() async throws {
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(ExecRequest(shell: "echo started; sleep 30", timeoutSeconds: 1))
            let job = try await agent.waitForJob(id)
            #expect(job.state == .timedOut)
            #expect(job.signal == 15)
            #expect(job.stdout == "started\n")
        }
    }

    @Test("DELETE cancels the whole process group, with SIGKILL after the grace period")
    func cancel() async throws {
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(ExecRequest(shell: "trap '' TERM; sleep 30 & wait; sleep 30"))
            try await Task.sleep(for: .milliseconds(300))
            let reply = try await agent.request(.delete, "\(AgentRoute.exec)/\(id)")
            #expect(reply.status == .accepted)
            let job = try await agent.waitForJob(id)
            #expect(job.state == .cancelled)
            #expect(job.signal == 9 || job.signal == 15)
        }
    }

    @Test("Stopping the agent cancels its running jobs: their processes are gone once it has stopped")
    func jobsEndWithTheAgent() async throws {
        let pid = Mutex<pid_t?>(nil)
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(ExecRequest(shell: "echo $$; exec sleep 300"))
            var job = try await agent.get("\(AgentRoute.exec)/\(id)", as: ExecJobResponse.self)
            while job.stdout.isEmpty {
                try await Task.sleep(for: .milliseconds(20))
                job = try await agent.get("\(AgentRoute.exec)/\(id)", as: ExecJobResponse.self)
            }
            let started = pid_t(job.stdout.trimmingCharacters(in: .newlines))
            pid.withLock { $0 = started }
        }
        let child = try #require(pid.withLock { $0 })
        #expect(kill(child, 0) != 0 && errno == ESRCH, "the job's process \(child) outlived the agent")
    }

    @Test("The output route streams new bytes from an offset with long polling")
    func streaming() async throws {
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(
                ExecRequest(shell: "echo one; sleep 1; echo two >&2; sleep 1; echo three"))
            var offset = 0
            var text = ""
            var stdoutOnly = ""
            for _ in 0..<50 {
                let output = try await agent.get(
                    "\(AgentRoute.exec)/\(id)/output?offset=\(offset)&wait_ms=3000",
                    as: ExecOutputResponse.self
                )
                #expect(output.offset == offset)
                text += output.data
                offset = output.nextOffset
                if output.complete { break }
            }
            #expect(text == "one\ntwo\nthree\n")
            stdoutOnly = try await agent.get(
                "\(AgentRoute.exec)/\(id)/output?stream=stdout&offset=4", as: ExecOutputResponse.self
            )
            .data
            #expect(stdoutOnly == "three\n")
            let errors = try await agent.get(
                "\(AgentRoute.exec)/\(id)/output?stream=stderr", as: ExecOutputResponse.self)
            #expect(errors.data == "two\n")
            #expect(errors.complete)
            #expect(errors.state == .exited)
        }
    }

    @Test("Bad output parameters are 400 naming the parameter")
    func badOutputParameters() async throws {
        try await AgentHarness.with { agent in
            let id = try await agent.startJob(ExecRequest(argv: ["true"]))
            let cases = [
                ("offset=-1", "offset: must be an integer from 0 to \(Int.max), not '-1'"),
                ("wait_ms=999999", "wait_ms: must be an integer from 0 to 60000, not '999999'"),
                ("stream=both", "stream: must be combined, stdout or stderr, not 'both'"),
            ]
            for (query, message) in cases {
                let reply = try await agent.request(.get, "\(AgentRoute.exec)/\(id)/output?\(query)")
                #expect(reply.status == .badRequest)
                #expect(try reply.error() == .init(code: "bad_request", message: message))
            }
        }
    }

    @Test("An unknown job is 404 for GET, output and DELETE")
    func unknownJob() async throws {
        try await AgentHarness.with { agent in
            for (method, path) in [
                (HTTPRequest.Method.get, "/v1/exec/nope"), (.get, "/v1/exec/nope/output"), (.delete, "/v1/exec/nope"),
            ] {
                let reply = try await agent.request(method, path)
                #expect(reply.status == .notFound)
                #expect(try reply.error() == .init(code: "not_found", message: "no exec job with id 'nope'"))
            }
        }
    }

    @Test("Invalid exec requests are 400 naming the field")
    func badRequests() async throws {
        try await AgentHarness.with { agent in
            let cases: [(String, String)] = [
                (#"{"argv":["true"],"timeout_s":0}"#, "timeout_s: must be from 1 to 86400, not 0"),
                (#"{"argv":["true"],"timeout_s":86401}"#, "timeout_s: must be from 1 to 86400, not 86401"),
                (#"{"argv":[]}"#, "argv: must not be empty"),
                (#"{}"#, "argv: give either argv or shell"),
                (#"{"argv":["true"],"shell":"true"}"#, "argv: give either argv or shell, not both"),
                (#"{"argv":"true"}"#, "argv: has the wrong type"),
                (#"{"shell":"true","env":{"A=B":"c"}}"#, "env: 'A=B' is not a valid variable name"),
                (#"{"argv":["true"]"#, "the request body is not valid JSON"),
            ]
            for (body, message) in cases {
                let reply = try await agent.request(.post, AgentRoute.exec, body: Data(body.utf8))
                #expect(reply.status == .badRequest, "\(body)")
                #expect(try reply.error() == .init(code: "bad_request", message: message))
            }
        }
    }

    @Test("A body over 1 MiB is 413 with a JSON error")
    func tooLarge() async throws {
        try await AgentHarness.with { agent in
            let shell = String(repeating: "x", count: (1 << 20) + 10)
            let body = try JSONEncoder().encode(ExecRequest(shell: shell))
            let reply = try await agent.request(.post, AgentRoute.exec, body: body)
            #expect(reply.status == .contentTooLarge)
            #expect(
                try reply.error()
                    == .init(code: "payload_too_large", message: "the request body is larger than 1048576 bytes"))
        }
    }
}

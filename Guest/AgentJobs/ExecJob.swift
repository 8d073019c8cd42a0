package import AgentAPI
package import AgentBasics
import FoundationEssentials
import Subprocess
import Synchronization

/// One command started by `POST /v1/exec`, running in its own process group under a task of the
/// ``JobRunnerService`` that reads its output, enforces its deadline and carries out cancellation (``JobProcess``).
///
/// The job outlives the request that started it; clients poll it by id.
package final class ExecJob: Sendable {
    /// How much of each stream is kept (combined keeps twice as much).
    package static let outputLimit = 1 << 20

    private struct Record {
        var state: ExecJobState = .running
        var exitCode: Int?
        var signal: Int?
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var combined: [UInt8] = []
        var stdoutTruncated = false
        var stderrTruncated = false
        var combinedTruncated = false
        var error: String?
        var finishedAt: Double?
        var cancelRequested = false
    }

    package let id: String
    package let startedAt: Double
    /// The uid of the unprivileged unix-socket peer that started the job, `nil` for a privileged caller: only
    /// that peer and privileged callers see the job.
    package let owner: UInt32?
    private let record = Mutex(Record())

    private init(id: String, owner: UInt32?) {
        self.id = id
        self.owner = owner
        self.startedAt = Date().timeIntervalSince1970
    }

    /// Starts the command in a task of `runner`; a command that cannot be started yields a job in `failed_to_start`,
    /// not an error.
    /// - Parameters:
    ///   - runner: The job runner that runs it (and cancels it when the agent shuts down).
    ///   - argv: The program and its arguments.
    ///   - environment: The child's whole environment.
    ///   - directory: Its working directory.
    ///   - timeout: When set, the job is stopped and marked `timed_out` after this long.
    ///   - killGrace: Time between SIGTERM and SIGKILL when stopping.
    ///   - identity: The user to run as, `nil` for the agent's own.
    ///   - owner: The unprivileged peer's uid that may see the job, `nil` for privileged callers only.
    /// - Throws: ``AgentError`` `shutting_down` once the runner's shutdown has begun.
    package static func start(
        runner: JobRunnerService,
        argv: [String],
        environment: [String: String],
        directory: String?,
        timeout: Duration?,
        killGrace: Duration,
        identity: ExecIdentity? = nil,
        owner: UInt32? = nil,
        onFinish: @escaping @Sendable (ExecJobResponse) -> Void = { _ in }
    ) throws(AgentError) -> ExecJob {
        let job = ExecJob(id: UUID().uuidString.lowercased(), owner: owner)
        let process: JobProcess?
        do {
            process = try JobProcess(
                argv, environment: environment, directory: directory, scope: JobProcess.jobScope("exec", id: job.id),
                identity: identity)
        } catch {
            job.failToStart(error.message)
            process = nil
        }
        // The job outlives the request that started it: the runner's task ends with the job's process.
        try runner.start("exec job", stop: { job.cancel() }) {
            if let process { await job.supervise(process, timeout: timeout, killGrace: killGrace) }
            onFinish(job.response())
        }
        return job
    }

    /// Whether the job has finished.
    package var isFinished: Bool { record.withLock { $0.state.isFinal } }

    /// The bytes of output the job keeps (all three streams).
    package var keptBytes: Int { record.withLock { $0.stdout.count + $0.stderr.count + $0.combined.count } }

    /// Asks the job to stop: SIGTERM to its process group now, SIGKILL after the grace period.
    /// - Returns: `false` when the job had already finished.
    @discardableResult
    package func cancel() -> Bool {
        record.withLock { record in
            guard record.state == .running else { return false }
            record.cancelRequested = true
            return true
        }
    }

    /// The job as the wire shows it.
    package func response() -> ExecJobResponse {
        record.withLock { record in
            ExecJobResponse(
                id: id,
                state: record.state,
                exitCode: record.exitCode,
                signal: record.signal,
                stdout: String(decoding: record.stdout, as: UTF8.self),
                stderr: String(decoding: record.stderr, as: UTF8.self),
                stdoutTruncated: record.stdoutTruncated,
                stderrTruncated: record.stderrTruncated,
                error: record.error,
                startedAt: startedAt,
                finishedAt: record.finishedAt
            )
        }
    }

    /// The bytes of a stream from `offset`, or `nil` while there are none yet and the job still runs.
    package func output(_ stream: ExecOutputStream, from offset: Int) -> ExecOutputResponse? {
        record.withLock { record in
            let (bytes, truncated): ([UInt8], Bool) =
                switch stream {
                case .combined: (record.combined, record.combinedTruncated)
                case .stdout: (record.stdout, record.stdoutTruncated)
                case .stderr: (record.stderr, record.stderrTruncated)
                }
            let start = min(max(0, offset), bytes.count)
            if start == bytes.count && !record.state.isFinal { return nil }
            return ExecOutputResponse(
                stream: stream,
                offset: start,
                nextOffset: bytes.count,
                data: String(decoding: bytes[start...], as: UTF8.self),
                state: record.state,
                complete: record.state.isFinal,
                truncated: truncated
            )
        }
    }

    /// Runs the process until it ended and its output was read.
    private func supervise(_ process: JobProcess, timeout: Duration?, killGrace: Duration) async {
        let outcome = await process.supervise(
            timeout: timeout, killGrace: killGrace,
            shouldStop: { self.record.withLock { $0.cancelRequested } },
            onOutput: { chunk, isError in self.append(chunk[...], isError: isError) })
        guard let ended = outcome.termination else {
            failToStart(outcome.startError ?? "cannot start '\(process.argv[0])'")
            return
        }
        record.withLock { record in
            switch ended {
            case .exited(let code): record.exitCode = Int(code)
            case .signaled(let signal): record.signal = Int(signal)
            }
            record.state = record.cancelRequested ? .cancelled : outcome.timedOut ? .timedOut : .exited
            record.finishedAt = Date().timeIntervalSince1970
        }
    }

    private func failToStart(_ message: String) {
        record.withLock {
            $0.state = .failedToStart
            $0.error = message
            $0.finishedAt = Date().timeIntervalSince1970
        }
    }

    private func append(_ chunk: ArraySlice<UInt8>, isError: Bool) {
        let limit = Self.outputLimit
        record.withLock { record in
            if isError {
                let room = max(0, limit - record.stderr.count)
                record.stderr.append(contentsOf: chunk.prefix(room))
                if chunk.count > room { record.stderrTruncated = true }
            } else {
                let room = max(0, limit - record.stdout.count)
                record.stdout.append(contentsOf: chunk.prefix(room))
                if chunk.count > room { record.stdoutTruncated = true }
            }
            let room = max(0, 2 * limit - record.combined.count)
            record.combined.append(contentsOf: chunk.prefix(room))
            if chunk.count > room { record.combinedTruncated = true }
        }
    }
}

/// The bounded table of exec jobs. When full, the oldest finished job is forgotten; when every job still
/// runs, new ones are refused. Finished jobs are also forgotten, oldest first, while the output the table keeps
/// is over ``outputBudget`` bytes (each job keeps at most 4 × ``ExecJob/outputLimit``: stdout, stderr and twice
/// as much combined).
package final class ExecJobTable: Sendable {
    /// The default byte budget of kept output: 64 MiB.
    package static let defaultOutputBudget = 64 << 20

    /// Runs the jobs (and the agent's other background work).
    package let runner: JobRunnerService
    package let capacity: Int
    /// The most bytes of output kept across jobs before finished jobs are forgotten.
    package let outputBudget: Int
    package let killGrace: Duration
    /// Where finished jobs are reported.
    package let events: AgentEventLog
    private let jobs = Mutex<[ExecJob]>([])

    package init(
        runner: JobRunnerService, capacity: Int = 256, killGrace: Duration = .seconds(5),
        events: AgentEventLog = AgentEventLog(), outputBudget: Int = ExecJobTable.defaultOutputBudget
    ) {
        self.runner = runner
        self.capacity = capacity
        self.outputBudget = outputBudget
        self.killGrace = killGrace
        self.events = events
    }

    /// Validates a request and starts its job, as the user the request and its caller decide (see
    /// ``ExecIdentity/forRequest(user:caller:)``).
    /// - Throws: ``AgentError`` `bad_request` naming the field, `forbidden` when a non-root peer names another
    ///   user, `too_many_requests` when the table is full, or `shutting_down` once the agent's shutdown has begun.
    package func start(_ request: ExecRequest, caller: AgentCaller = .host) throws(AgentError) -> ExecJob {
        let argv: [String]
        switch (request.argv, request.shell) {
        case (let given?, nil):
            guard let first = given.first, !first.isEmpty else {
                throw AgentError(.badRequest, "argv: must not be empty")
            }
            argv = given
        case (nil, let shell?):
            guard !shell.isEmpty else { throw AgentError(.badRequest, "shell: must not be empty") }
            argv = ["/bin/sh", "-c", shell]
        case (nil, nil):
            throw AgentError(.badRequest, "argv: give either argv or shell")
        case (_?, _?):
            throw AgentError(.badRequest, "argv: give either argv or shell, not both")
        }
        if let seconds = request.timeoutSeconds, !(1...86400).contains(seconds) {
            throw AgentError(.badRequest, "timeout_s: must be from 1 to 86400, not \(seconds)")
        }
        if let cwd = request.cwd, cwd.isEmpty {
            throw AgentError(.badRequest, "cwd: must not be empty")
        }
        var environment = ProcessInfo.processInfo.environment
        for (key, value) in request.env ?? [:] {
            guard !key.isEmpty, !key.contains("="), !key.contains("\0"), !value.contains("\0") else {
                throw AgentError(.badRequest, "env: '\(key)' is not a valid variable name")
            }
            environment[key] = value
        }
        let identity = try ExecIdentity.forRequest(user: request.user, caller: caller)
        if let identity, let name = identity.name {
            for (key, value) in ["USER": name, "LOGNAME": name, "HOME": identity.home ?? "/"]
            where request.env?[key] == nil {
                environment[key] = value
            }
        }
        try reserveSlot()
        let job = try ExecJob.start(
            runner: runner,
            argv: argv,
            environment: environment,
            directory: request.cwd,
            timeout: request.timeoutSeconds.map { .seconds($0) },
            killGrace: killGrace,
            identity: identity,
            owner: caller.unprivilegedPeer?.uid
        ) { [events] finished in
            var metadata = ["job_id": finished.id, "state": finished.state.rawValue]
            if let code = finished.exitCode { metadata["exit_code"] = "\(code)" }
            if let signal = finished.signal { metadata["signal"] = "\(signal)" }
            events.record(
                AgentEventKind.jobFinished, "exec job \(finished.id) \(finished.state.rawValue)", metadata: metadata)
        }
        jobs.withLock { $0.append(job) }
        return job
    }

    /// The job with this id, when the caller may see it (a non-root peer sees only its own jobs).
    /// - Throws: ``AgentError`` `not_found`.
    package func job(_ id: String, caller: AgentCaller = .host) throws(AgentError) -> ExecJob {
        let owner = caller.isPrivileged ? nil : (caller.unprivilegedPeer?.uid ?? UInt32.max)
        guard let job = jobs.withLock({ $0.first { $0.id == id } }), owner == nil || job.owner == owner else {
            throw AgentError(.notFound, "no exec job with id '\(id)'")
        }
        return job
    }

    /// How many jobs the table holds in each state.
    package func stateCounts() -> [ExecJobState: Int] {
        let responses = jobs.withLock { $0 }.map { $0.response() }
        return responses.reduce(into: [:]) { $0[$1.state, default: 0] += 1 }
    }

    /// Number of jobs that still run.
    package var runningCount: Int { jobs.withLock { $0.count { !$0.isFinished } } }

    private func reserveSlot() throws(AgentError) {
        let full = jobs.withLock { jobs -> Bool in
            var kept = jobs.reduce(0) { $0 + $1.keptBytes }
            while kept > outputBudget, let index = jobs.firstIndex(where: \.isFinished) {
                kept -= jobs[index].keptBytes
                jobs.remove(at: index)
            }
            while jobs.count >= capacity {
                guard let index = jobs.firstIndex(where: \.isFinished) else { return true }
                jobs.remove(at: index)
            }
            return false
        }
        if full { throw AgentError(.tooManyRequests, "all \(capacity) exec jobs are still running") }
    }
}

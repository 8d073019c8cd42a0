/// Body of `POST /v1/exec`: exactly one of ``argv`` and ``shell``.
public struct ExecRequest: Codable, Sendable, Equatable {
    /// The program and its arguments; the program is looked up in `PATH`.
    public var argv: [String]?
    /// A command line run with `/bin/sh -c`.
    public var shell: String?
    /// The working directory; the agent's own when absent.
    public var cwd: String?
    /// Variables added to (or replacing those of) the agent's environment.
    public var env: [String: String]?
    /// Seconds after which the job is stopped and marked `timed_out` (1…86400); no limit when absent.
    public var timeoutSeconds: Int?
    /// The user the command runs as: a name or a numeric uid. Optional: when absent, the host (TCP) and root
    /// peers on the unix socket run commands as root, and any other peer as itself. A non-root peer may only
    /// name itself (403 `forbidden` otherwise); an unknown user is refused with 400 naming it.
    public var user: String?

    /// Creates an exec request.
    public init(
        argv: [String]? = nil,
        shell: String? = nil,
        cwd: String? = nil,
        env: [String: String]? = nil,
        timeoutSeconds: Int? = nil,
        user: String? = nil
    ) {
        self.argv = argv
        self.shell = shell
        self.cwd = cwd
        self.env = env
        self.timeoutSeconds = timeoutSeconds
        self.user = user
    }

    enum CodingKeys: String, CodingKey {
        case argv, shell, cwd, env, user
        case timeoutSeconds = "timeout_s"
    }
}

/// Body of the 202 answer that starts a job: `POST /v1/exec` and `POST /v1/packs/{name}/install`.
public struct JobStartResponse: Codable, Sendable, Equatable {
    /// The job's id, used in `/v1/exec/{id}` or `/v1/packs/jobs/{id}`.
    public var id: String

    /// Creates a start answer.
    public init(id: String) {
        self.id = id
    }
}

/// The state of an exec job.
public enum ExecJobState: String, Codable, Sendable, Hashable {
    /// The process runs.
    case running
    /// The process ended on its own (or by a signal not sent by the agent).
    case exited
    /// The agent stopped it at its deadline.
    case timedOut = "timed_out"
    /// A client cancelled it.
    case cancelled
    /// It could not be started; see ``ExecJobResponse/error``.
    case failedToStart = "failed_to_start"

    /// Whether the job has finished.
    public var isFinal: Bool { self != .running }
}

/// Body of `GET /v1/exec/{id}`.
public struct ExecJobResponse: Codable, Sendable, Equatable {
    /// The job's id.
    public var id: String
    /// Its state.
    public var state: ExecJobState
    /// The exit status when the process exited normally.
    public var exitCode: Int?
    /// The signal that ended the process, when one did.
    public var signal: Int?
    /// Captured standard output (UTF-8, invalid bytes replaced), up to the agent's cap.
    public var stdout: String
    /// Captured standard error, up to the agent's cap.
    public var stderr: String
    /// Whether standard output went past the cap.
    public var stdoutTruncated: Bool
    /// Whether standard error went past the cap.
    public var stderrTruncated: Bool
    /// Why the job failed to start.
    public var error: String?
    /// Seconds since the Unix epoch when it started.
    public var startedAt: Double
    /// Seconds since the Unix epoch when it finished.
    public var finishedAt: Double?

    /// Creates a job answer.
    public init(
        id: String,
        state: ExecJobState,
        exitCode: Int?,
        signal: Int?,
        stdout: String,
        stderr: String,
        stdoutTruncated: Bool,
        stderrTruncated: Bool,
        error: String?,
        startedAt: Double,
        finishedAt: Double?
    ) {
        self.id = id
        self.state = state
        self.exitCode = exitCode
        self.signal = signal
        self.stdout = stdout
        self.stderr = stderr
        self.stdoutTruncated = stdoutTruncated
        self.stderrTruncated = stderrTruncated
        self.error = error
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, state, signal, stdout, stderr, error
        case exitCode = "exit_code"
        case stdoutTruncated = "stdout_truncated"
        case stderrTruncated = "stderr_truncated"
        case startedAt = "started_at"
        case finishedAt = "finished_at"
    }
}

/// Which output `GET /v1/exec/{id}/output` reads (`stream=` query item).
public enum ExecOutputStream: String, Codable, Sendable, Hashable, CaseIterable {
    /// Standard output and standard error interleaved in arrival order (the default).
    case combined
    /// Standard output only.
    case stdout
    /// Standard error only.
    case stderr
}

/// Body of `GET /v1/exec/{id}/output?offset=N&wait_ms=M&stream=S`.
public struct ExecOutputResponse: Codable, Sendable, Equatable {
    /// The stream read.
    public var stream: ExecOutputStream
    /// The byte offset ``data`` starts at.
    public var offset: Int
    /// The offset to ask for next.
    public var nextOffset: Int
    /// The bytes from ``offset`` (UTF-8, invalid bytes replaced).
    public var data: String
    /// The job's state when the answer was made.
    public var state: ExecJobState
    /// `true` when the job has finished and ``nextOffset`` is the end of the stream: stop polling.
    public var complete: Bool
    /// Whether the stream went past the agent's cap (later bytes were dropped).
    public var truncated: Bool

    /// Creates an output answer.
    public init(
        stream: ExecOutputStream,
        offset: Int,
        nextOffset: Int,
        data: String,
        state: ExecJobState,
        complete: Bool,
        truncated: Bool
    ) {
        self.stream = stream
        self.offset = offset
        self.nextOffset = nextOffset
        self.data = data
        self.state = state
        self.complete = complete
        self.truncated = truncated
    }

    enum CodingKeys: String, CodingKey {
        case stream, offset, data, state, complete, truncated
        case nextOffset = "next_offset"
    }
}

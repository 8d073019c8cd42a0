import AgentAPI
import AgentAPIGenerated
import AgentJobs

/// `POST /v1/exec`, `GET /v1/exec/{id}`, `GET /v1/exec/{id}/output`, `DELETE /v1/exec/{id}`.
///
/// A non-root process on the unix socket runs commands as itself and sees only its own jobs.
struct ExecHandler {
    /// The longest long-poll of the output route, in milliseconds.
    static let maxWait = 60_000

    let jobs: ExecJobTable

    func startExec(_ input: Operations.StartExec.Input) throws -> Operations.StartExec.Output {
        let body =
            switch input.body {
            case .json(let body): body
            }
        let job = try jobs.start(body, caller: AgentRequestScope.caller)
        return .accepted(.init(body: .json(JobStartResponse(id: job.id))))
    }

    func getExecJob(_ input: Operations.GetExecJob.Input) throws -> Operations.GetExecJob.Output {
        let job = try jobs.job(input.path.id, caller: AgentRequestScope.caller)
        return .ok(.init(body: .json(job.response())))
    }

    func cancelExecJob(_ input: Operations.CancelExecJob.Input) throws -> Operations.CancelExecJob.Output {
        let job = try jobs.job(input.path.id, caller: AgentRequestScope.caller)
        job.cancel()
        return .accepted(.init(body: .json(job.response())))
    }

    /// Answers the output from `offset` once there is some, the job ended, or `wait_ms` passed.
    func getExecOutput(_ input: Operations.GetExecOutput.Input) async throws -> Operations.GetExecOutput.Output {
        let job = try jobs.job(input.path.id, caller: AgentRequestScope.caller)
        let query = input.query
        let offset = try AgentQuery.integer(query.offset, name: "offset", range: 0...Int.max, default: 0)
        let wait = try AgentQuery.integer(query.waitMs, name: "wait_ms", range: 0...Self.maxWait, default: 0)
        let stream = query.stream.map { ExecOutputStream(rawValue: $0.rawValue) ?? .combined } ?? .combined
        let deadline = ContinuousClock.now + .milliseconds(wait)
        while true {
            if let output = job.output(stream, from: offset) { return .ok(.init(body: .json(output))) }
            if ContinuousClock.now >= deadline { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        let waited = ExecOutputResponse(
            stream: stream, offset: offset, nextOffset: offset, data: "", state: job.response().state,
            complete: false, truncated: false)
        return .ok(.init(body: .json(waited)))
    }
}

/// The exec jobs operations of the generated protocol, answered by ``ExecHandler``.
extension AgentAPIHandler {
    func startExec(_ input: Operations.StartExec.Input) throws -> Operations.StartExec.Output {
        try exec.startExec(input)
    }

    func getExecJob(_ input: Operations.GetExecJob.Input) throws -> Operations.GetExecJob.Output {
        try exec.getExecJob(input)
    }

    func cancelExecJob(_ input: Operations.CancelExecJob.Input) throws -> Operations.CancelExecJob.Output {
        try exec.cancelExecJob(input)
    }

    func getExecOutput(_ input: Operations.GetExecOutput.Input) async throws -> Operations.GetExecOutput.Output {
        try await exec.getExecOutput(input)
    }
}

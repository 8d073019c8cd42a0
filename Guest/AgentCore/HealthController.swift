import AgentAPI
import FoundationEssentials
import Hummingbird
import NIOPosix

/// `GET /v1/health/live`, `/v1/health/ready`, `/v1/status` and `/v1/stats`.
struct HealthController {
    let state: AgentState

    func addRoutes(to router: Router<AgentRequestContext>) {
        router.get(RouterPath(AgentRoute.healthLive)) { _, _ in
            APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: LiveResponse())
        }
        router.get(RouterPath(AgentRoute.healthReady)) { _, _ in
            let ready = readiness()
            return APIErrorMiddleware<AgentRequestContext>.json(
                status: ready.ready ? .ok : .serviceUnavailable, body: ready)
        }
        router.get(RouterPath(AgentRoute.status)) { _, _ in
            APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: try await status())
        }
        router.get(RouterPath(AgentRoute.stats)) { _, _ in
            APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: try await stats())
        }
    }

    func readiness() -> ReadyResponse {
        let ticked = state.stats != nil
        return ReadyResponse(checks: [
            .init(name: "config_loaded", ok: true),
            .init(name: "monitor_ticked", ok: ticked, detail: ticked ? nil : "the monitor has not sampled yet"),
        ])
    }

    func status() async throws -> StatusResponse {
        let state = state
        let sha256 = try await NIOThreadPool.singleton.runIfActive { state.binarySHA256() }
        let uptime = ContinuousClock.now - state.startedAt
        let bootID =
            SystemSampler.read("/proc/sys/kernel/random/boot_id")?.trimmed ?? ""
        return StatusResponse(
            agentVersion: AgentProtocol.somnusVersion,
            protocolVersion: AgentProtocol.protocolVersion,
            binarySHA256: sha256,
            uptimeSeconds: uptime / .seconds(1),
            bootID: bootID,
            hostname: ProcessInfo.processInfo.hostName,
            features: state.features
        )
    }

    func stats() async throws -> StatsResponse {
        if let stats = state.stats { return stats }
        let units = state.configuration.monitoredUnits
        return try await NIOThreadPool.singleton.runIfActive {
            var sampler = SystemSampler()
            return sampler.sample(units: units)
        }
    }
}

/// `POST /v1/exec`, `GET /v1/exec/{id}`, `GET /v1/exec/{id}/output`, `DELETE /v1/exec/{id}`.
///
/// A non-root process on the unix socket runs commands as itself and sees only its own jobs.
struct ExecController {
    /// The longest long-poll of the output route.
    static let maxWait = 60_000

    let state: AgentState

    func addRoutes(to router: Router<AgentRequestContext>) {
        let jobs = state.jobs
        router.post(RouterPath(AgentRoute.exec)) { request, context in
            let body = try await request.decodeJSON(ExecRequest.self)
            let job = try jobs.start(body, caller: context.caller)
            return APIErrorMiddleware<AgentRequestContext>.json(status: .accepted, body: JobStartResponse(id: job.id))
        }
        router.get(RouterPath("\(AgentRoute.exec)/:id")) { _, context in
            let job = try jobs.job(context.parameters.get("id") ?? "", caller: context.caller)
            return APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: job.response())
        }
        router.delete(RouterPath("\(AgentRoute.exec)/:id")) { _, context in
            let job = try jobs.job(context.parameters.get("id") ?? "", caller: context.caller)
            job.cancel()
            return APIErrorMiddleware<AgentRequestContext>.json(status: .accepted, body: job.response())
        }
        router.get(RouterPath("\(AgentRoute.exec)/:id/output")) { request, context in
            let job = try jobs.job(context.parameters.get("id") ?? "", caller: context.caller)
            let query = request.uri.queryParameters
            let offset = try Self.integer(query["offset"], name: "offset", range: 0...Int.max, default: 0)
            let wait = try Self.integer(query["wait_ms"], name: "wait_ms", range: 0...Self.maxWait, default: 0)
            let streamName = query["stream"].map(String.init) ?? ExecOutputStream.combined.rawValue
            guard let stream = ExecOutputStream(rawValue: streamName) else {
                throw AgentError(.badRequest, "stream: must be combined, stdout or stderr, not '\(streamName)'")
            }
            let deadline = ContinuousClock.now + .milliseconds(wait)
            while true {
                if let output = job.output(stream, from: offset) {
                    return APIErrorMiddleware<AgentRequestContext>.json(status: .ok, body: output)
                }
                if ContinuousClock.now >= deadline { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            let response = job.response()
            return APIErrorMiddleware<AgentRequestContext>.json(
                status: .ok,
                body: ExecOutputResponse(
                    stream: stream,
                    offset: offset,
                    nextOffset: offset,
                    data: "",
                    state: response.state,
                    complete: false,
                    truncated: false
                )
            )
        }
    }

    static func integer(
        _ text: Substring?,
        name: String,
        range: ClosedRange<Int>,
        default value: Int
    ) throws(AgentError) -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw AgentError(
                .badRequest,
                "\(name): must be an integer from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return number
    }
}

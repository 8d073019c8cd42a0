import AgentAPI
import AgentAPIGenerated
import AgentBasics
import AgentJobs
import AgentSystem
import Hummingbird
import NIOCore

/// `GET /metrics` (Prometheus text) and `GET /v1/openapi.json`.
struct MetricsController {
    let state: AgentState

    func addRoutes(to router: Router<AgentRequestContext>) {
        let state = state
        router.get(RouterPath(AgentRoute.metrics)) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: Self.render(state)))
            )
        }
        router.get(RouterPath(AgentRoute.openAPI)) { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: AgentOpenAPI.document))
            )
        }
    }

    /// The Prometheus text exposition of the agent's metrics.
    static func render(_ state: AgentState) -> String {
        let uptime = ContinuousClock.now - state.startedAt
        let seconds = uptime / .seconds(1)
        var lines = [
            "# HELP somnus_agent_uptime_seconds Seconds since the agent started.",
            "# TYPE somnus_agent_uptime_seconds gauge",
            "somnus_agent_uptime_seconds \(seconds)",
            "# HELP somnus_agent_http_requests_total Answered requests by method, route and status.",
            "# TYPE somnus_agent_http_requests_total counter",
        ]
        for (key, value) in state.metrics.snapshot() {
            lines.append(
                "somnus_agent_http_requests_total{method=\"\(escape(key.method))\",route=\"\(escape(key.route))\","
                    + "status=\"\(key.status)\"} \(value)")
        }
        lines += [
            "# HELP somnus_agent_exec_jobs Exec jobs in the job table by state.",
            "# TYPE somnus_agent_exec_jobs gauge",
        ]
        let counts = state.jobs.stateCounts()
        let jobStates: [ExecJobState] = [.running, .exited, .timedOut, .cancelled, .failedToStart]
        for jobState in jobStates {
            lines.append("somnus_agent_exec_jobs{state=\"\(jobState.rawValue)\"} \(counts[jobState] ?? 0)")
        }
        let limiters = [("tcp", state.tcpConnections), ("unix", state.unixConnections)]
        lines += [
            "# HELP somnus_agent_connections Open connections by listener.", "# TYPE somnus_agent_connections gauge",
        ]
        lines += limiters.map { "somnus_agent_connections{listener=\"\($0.0)\"} \($0.1.count)" }
        lines += [
            "# HELP somnus_agent_connections_evicted_total Idle connections closed to admit new ones, by listener.",
            "# TYPE somnus_agent_connections_evicted_total counter",
        ]
        lines += limiters.map {
            "somnus_agent_connections_evicted_total{listener=\"\($0.0)\"} \($0.1.counters.evicted)"
        }
        lines += [
            "# HELP somnus_agent_connections_refused_total Connections closed at once because every open one was busy.",
            "# TYPE somnus_agent_connections_refused_total counter",
        ]
        lines += limiters.map {
            "somnus_agent_connections_refused_total{listener=\"\($0.0)\"} \($0.1.counters.refused)"
        }
        lines += [
            "# HELP somnus_agent_fs_frozen Whether the agent holds filesystems frozen.",
            "# TYPE somnus_agent_fs_frozen gauge",
            "somnus_agent_fs_frozen \(state.freeze.isFrozen ? 1 : 0)",
        ]
        if let stats = state.stats {
            lines += [
                "# HELP somnus_guest_cpu_percent Whole-machine CPU use at the last monitor tick.",
                "# TYPE somnus_guest_cpu_percent gauge",
                "somnus_guest_cpu_percent \(stats.cpuPercent)",
                "# HELP somnus_guest_memory_total_bytes Total memory.",
                "# TYPE somnus_guest_memory_total_bytes gauge",
                "somnus_guest_memory_total_bytes \(stats.memoryTotalBytes)",
                "# HELP somnus_guest_memory_used_bytes Used memory at the last monitor tick.",
                "# TYPE somnus_guest_memory_used_bytes gauge",
                "somnus_guest_memory_used_bytes \(stats.memoryUsedBytes)",
                "# HELP somnus_guest_memory_available_bytes Available memory at the last monitor tick.",
                "# TYPE somnus_guest_memory_available_bytes gauge",
                "somnus_guest_memory_available_bytes \(stats.memoryAvailableBytes)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func escape(_ value: String) -> String {
        value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            .replacing("\n", with: "\\n")
    }
}

/// The two operations ``MetricsController`` serves, as the generated protocol lists them.
extension AgentAPIHandler {
    // The transport never registers these two (their answers are not JSON operations); should one be reached,
    // it is an error answer, not a crash.

    func getMetrics(_ input: Operations.GetMetrics.Input) throws -> Operations.GetMetrics.Output {
        throw AgentError(.internal, "GET /metrics is served by MetricsController, not through the generated server")
    }

    func getOpenAPIDocument(_ input: Operations.GetOpenAPIDocument.Input) throws -> Operations.GetOpenAPIDocument.Output
    {
        throw AgentError(
            .internal, "GET /v1/openapi.json is served by MetricsController, not through the generated server")
    }
}

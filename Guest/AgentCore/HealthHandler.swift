import AgentAPI
import AgentAPIGenerated
import AgentBasics
import AgentSystem
import FoundationEssentials
import NIOPosix

/// What the health routes read about the agent.
protocol AgentHealthSource: Sendable {
    /// The configuration in force (its monitored units are sampled when the monitor has not ticked yet).
    var configuration: AgentConfiguration { get }
    /// The newest monitor sample, `nil` before the first tick.
    var stats: StatsResponse? { get }
    /// What this agent offers.
    var features: [String] { get }
    /// When the agent started.
    var startedAt: ContinuousClock.Instant { get }
    /// Hex SHA-256 of the agent's binary. Blocking.
    func binarySHA256() -> String
}

extension AgentState: AgentHealthSource {}

/// `GET /v1/health/live`, `/v1/health/ready`, `/v1/status` and `/v1/stats`.
struct HealthHandler {
    let source: any AgentHealthSource

    func getLiveness() -> Operations.GetLiveness.Output {
        .ok(.init(body: .json(LiveResponse())))
    }

    func getReadiness() -> Operations.GetReadiness.Output {
        let ready = readiness()
        return ready.ready ? .ok(.init(body: .json(ready))) : .serviceUnavailable(.init(body: .json(ready)))
    }

    func getStatus() async throws -> Operations.GetStatus.Output {
        .ok(.init(body: .json(try await status())))
    }

    func getStats() async throws -> Operations.GetStats.Output {
        .ok(.init(body: .json(try await stats())))
    }

    func readiness() -> ReadyResponse {
        let ticked = source.stats != nil
        return ReadyResponse(checks: [
            .init(name: "config_loaded", ok: true),
            .init(name: "monitor_ticked", ok: ticked, detail: ticked ? nil : "the monitor has not sampled yet"),
        ])
    }

    func status() async throws -> StatusResponse {
        let source = source
        let sha256 = try await NIOThreadPool.singleton.runIfActive { source.binarySHA256() }
        let uptime = ContinuousClock.now - source.startedAt
        let bootID = SystemSampler.read("/proc/sys/kernel/random/boot_id")?.trimmed ?? ""
        return StatusResponse(
            agentVersion: AgentProtocol.somnusVersion,
            protocolVersion: AgentProtocol.protocolVersion,
            binarySHA256: sha256,
            uptimeSeconds: uptime / .seconds(1),
            bootID: bootID,
            hostname: ProcessInfo.processInfo.hostName,
            features: source.features
        )
    }

    func stats() async throws -> StatsResponse {
        if let stats = source.stats { return stats }
        let units = source.configuration.monitoredUnits
        var sampler = SystemSampler()
        return try await sampler.sample(units: units)
    }
}

/// The health and status operations of the generated protocol, answered by ``HealthHandler``.
extension AgentAPIHandler {
    func getLiveness(_ input: Operations.GetLiveness.Input) -> Operations.GetLiveness.Output {
        health.getLiveness()
    }

    func getReadiness(_ input: Operations.GetReadiness.Input) -> Operations.GetReadiness.Output {
        health.getReadiness()
    }

    func getStatus(_ input: Operations.GetStatus.Input) async throws -> Operations.GetStatus.Output {
        try await health.getStatus()
    }

    func getStats(_ input: Operations.GetStats.Input) async throws -> Operations.GetStats.Output {
        try await health.getStats()
    }
}

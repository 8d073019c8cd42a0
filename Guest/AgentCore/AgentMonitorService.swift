import AgentAPI
import Logging
import NIOPosix
import ServiceLifecycle

/// Samples the machine and the monitored units every `monitor_interval_seconds` on the thread pool and keeps
/// the newest sample for `/v1/stats`; the first sample makes the agent ready.
struct AgentMonitorService: Service {
    let state: AgentState
    let logger: Logger

    func run() async throws {
        var sampler = SystemSampler()
        let units = state.configuration.monitoredUnits
        var previous: [String: String] = [:]
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let current = sampler
            let (stats, next) = try await NIOThreadPool.singleton.runIfActive {
                var sampler = current
                return (sampler.sample(units: units), sampler)
            }
            sampler = next
            state.record(stats)
            for unit in stats.units {
                let was = previous[unit.name]
                previous[unit.name] = unit.activeState
                guard let was, (was == "active") != (unit.activeState == "active") else { continue }
                let kind = unit.activeState == "active" ? AgentEventKind.unitStarted : AgentEventKind.unitStopped
                state.events.record(
                    kind, "\(unit.name) went from \(was) to \(unit.activeState)",
                    metadata: ["unit": unit.name, "from": was, "to": unit.activeState])
            }
            let interval = state.configuration.monitorInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

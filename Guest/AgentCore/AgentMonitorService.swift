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
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let current = sampler
            let (stats, next) = try await NIOThreadPool.singleton.runIfActive {
                var sampler = current
                return (sampler.sample(units: units), sampler)
            }
            sampler = next
            state.record(stats)
            let interval = state.configuration.monitorInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}

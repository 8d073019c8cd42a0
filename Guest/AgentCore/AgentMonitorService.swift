import AgentAPI
import AgentBasics
import AgentLogMonitor
import AgentSystem
import Logging
import ServiceLifecycle

/// Samples the machine and the monitored units every `monitor_interval_seconds` on the thread pool and keeps
/// the newest sample for `/v1/stats`; the first sample makes the agent ready. Beside it, an ``ErrorMonitor``
/// classifies the configured log files and the journal into ``AgentState/errors``.
struct AgentMonitorService: Service {
    let state: AgentState
    let logger: Logger

    func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await sampleLoop() }
            group.addTask { await errorLoop() }
        }
    }

    /// Tails the configured log files and the journal into ``AgentState/errors`` every second (or every monitor
    /// interval when shorter), pausing while filesystems are frozen; records pending traces and persists at
    /// shutdown. A reload that changes the log files or the journal setting hands over to a new monitor, which
    /// starts from the positions the old one saved.
    private func errorLoop() async {
        var monitor: ErrorMonitor?
        var sources: (logFiles: [String: String], journal: Bool)?
        var generation = -1
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let configuration = state.configuration
            if generation != state.configurationGeneration, !state.freeze.holdsWrites {
                generation = state.configurationGeneration
                if sources?.logFiles != configuration.logFiles || sources?.journal != configuration.journal {
                    monitor?.finish()
                    monitor = nil
                    sources = (configuration.logFiles, configuration.journal)
                    if !configuration.logFiles.isEmpty || configuration.journal {
                        do {
                            monitor = try ErrorMonitor(
                                configuration: configuration, store: state.errors, logger: logger)
                        } catch {
                            logger.error("Log classification is off", metadata: ["agent.error": "\(error)"])
                        }
                    }
                }
            }
            if let monitor, !state.freeze.holdsWrites { await monitor.tick() }
            let interval = min(configuration.monitorInterval, .seconds(1))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        monitor?.finish()
    }

    private func sampleLoop() async throws {
        var sampler = SystemSampler()
        var previous: [String: String] = [:]
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let units = state.configuration.monitoredUnits
            let stats = try await sampler.sample(units: units)
            var sample = stats
            sample.errorCounts = SystemSampler.errorCounts(state.errors.countsByCategory())
            state.record(sample)
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

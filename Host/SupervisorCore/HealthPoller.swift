import AgentAPI
import Foundation
public import Logging
public import ServiceLifecycle

/// Polls every VM's agent concurrently, records health in the inventory and reports state changes.
///
/// Each request has its own deadline, so a hung agent costs one deadline per sweep and never delays the
/// others.
public struct HealthPoller: Service {
    let manager: VMManager
    let connector: AgentConnector
    let logger: Logger
    /// Where each probe's latency and each health change are counted, or `nil`.
    let metrics: SupervisorMetrics?
    let onChange: @Sendable (AgentHealth) -> Void

    /// Creates a poller.
    /// - Parameters:
    ///   - manager: The VM manager whose inventory lists the VMs.
    ///   - connector: How agents are reached.
    ///   - logger: Where state changes are logged.
    ///   - metrics: Counts each probe's latency and each health change (`somnus daemon`'s `/metrics`), or `nil`.
    ///   - onChange: Called with each observation whose state differs from the previous one for that VM.
    public init(
        manager: VMManager, connector: AgentConnector, logger: Logger, metrics: SupervisorMetrics? = nil,
        onChange: @escaping @Sendable (AgentHealth) -> Void = { _ in }
    ) {
        self.manager = manager
        self.connector = connector
        self.logger = logger
        self.metrics = metrics
        self.onChange = onChange
    }

    /// Sweeps every interval until graceful shutdown.
    public func run() async throws {
        var previous: [String: AgentHealth] = [:]
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            for health in await sweep() {
                let before = previous[health.vm]
                if before?.state != health.state || before?.reason != health.reason {
                    logger.info(
                        "agent health changed",
                        metadata: ["vm.name": "\(health.vm)", "health.state": "\(health.summary)"])
                    try? manager.inventory.recordEvent(
                        vm: health.vm, kind: "health", message: health.summary + (health.detail.map { ": \($0)" } ?? "")
                    )
                    metrics?.countChange(to: health)
                    onChange(health)
                }
                previous[health.vm] = health
            }
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: manager.configuration.pollInterval)
                }
            } catch {
                return
            }
        }
    }

    /// Polls every VM in the inventory once, concurrently, and records the results.
    /// - Returns: One observation per VM, in name order.
    public func sweep() async -> [AgentHealth] {
        let records = (try? manager.inventory.allVMs()) ?? []
        let results = await withTaskGroup(of: AgentHealth.self) { group in
            for record in records {
                group.addTask {
                    let clock = ContinuousClock()
                    let started = clock.now
                    let health = await probe(record)
                    metrics?.observe(health, duration: clock.now - started)
                    return health
                }
            }
            var all: [AgentHealth] = []
            for await health in group { all.append(health) }
            return all.sorted { $0.vm < $1.vm }
        }
        for health in results {
            try? manager.inventory.record(health)
        }
        return results
    }

    /// Polls one VM.
    public func probe(_ record: VMRecord) async -> AgentHealth {
        let name = record.name
        do {
            guard try await manager.isRunning(name: name) else {
                return AgentHealth(vm: name, state: .unreachable, reason: .vmNotRunning)
            }
        } catch {
            return AgentHealth(vm: name, state: .unreachable, reason: .vmNotRunning, detail: error.message)
        }
        guard let address = record.address else {
            return AgentHealth(vm: name, state: .starting, reason: nil, detail: "no address yet")
        }
        do {
            return try await connector.client(for: record, address: address).probe(vm: name)
        } catch {
            return AgentHealth(vm: name, state: .unreachable, reason: .error, detail: error.message)
        }
    }
}

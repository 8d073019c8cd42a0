import AgentAPI
public import Curl
import Foundation
public import Logging
public import ServiceLifecycle

/// Polls every VM's agent concurrently, records health in the inventory and reports state changes.
///
/// Each request has its own deadline, so a hung agent costs one deadline per sweep and never delays the
/// others.
public struct HealthPoller: Service {
    let manager: VMManager
    let curl: CurlClient
    let logger: Logger
    let onChange: @Sendable (AgentHealth) -> Void

    /// Creates a poller.
    /// - Parameters:
    ///   - manager: The VM manager whose inventory lists the VMs.
    ///   - curl: The shared curl client.
    ///   - logger: Where state changes are logged.
    ///   - onChange: Called with each observation whose state differs from the previous one for that VM.
    public init(
        manager: VMManager, curl: CurlClient, logger: Logger,
        onChange: @escaping @Sendable (AgentHealth) -> Void = { _ in }
    ) {
        self.manager = manager
        self.curl = curl
        self.logger = logger
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
                group.addTask { await probe(record) }
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
        let client = manager.agentClient(for: record, address: address, curl: curl)
        return await client.probe(vm: name)
    }
}

extension VMManager {
    /// A client for a VM's agent with its token and the configured deadline.
    ///
    /// The address is an IPv4 address, optionally with a port (`127.0.0.1:8080`, as in-process test agents
    /// and forwarded ports use); without one the agent's default port applies.
    public func agentClient(for record: VMRecord, address: String, curl: CurlClient) -> AgentClient {
        let token = (try? String(contentsOfFile: layout.agentTokenPath(record.name), encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = address.split(separator: ":")
        if parts.count == 2, let port = Int(parts[1]) {
            return AgentClient(
                address: String(parts[0]), port: port, token: token, timeout: configuration.agentRequestTimeout,
                curl: curl)
        }
        return AgentClient(
            address: address, token: token, timeout: configuration.agentRequestTimeout, curl: curl)
    }
}

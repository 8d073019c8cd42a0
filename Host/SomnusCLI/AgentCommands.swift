import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import ArgumentParser
import Foundation
import Logging
import SSH
import ServiceLifecycle
import SupervisorCore
import UnixSignals

/// `somnus agent …`.
struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent", abstract: "Deploy the guest agent and read its status.",
        subcommands: [AgentDeploy.self, AgentStatus.self])
}

struct AgentDeploy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract:
            "Push the agent into a running VM over SSH (skipped when the running agent already is this binary), "
            + "install its systemd unit and wait until it is ready.",
        discussion: "Example: somnus agent deploy demo --force")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "The agent binary to deploy (default: somnus-agent beside this executable).") var agentBinary: String?
    @Flag(help: "Deploy even when the running agent already is this binary.") var force = false

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let agent = try ImageBuilder.locateAgentBinary(agentBinary)
            let manager = try await options.manager(logger)
            let record = try manager.record(name)
            let leased = try await manager.leasedAddress(name: name)
            guard let address = leased ?? record.address else {
                throw SupervisorError(.invalidState, "'\(name)' has no address; is it running? (`somnus vm start`)")
            }
            let deployer = AgentDeployer(
                manager: manager, connector: try AgentConnector(manager: manager), logger: logger)
            let progress = ProgressLine(enabled: !options.json)
            defer { progress.finish() }
            progress.update("\(name): checking the running agent and deploying when it differs")
            let outcome = try await deployer.ensureDeployed(
                vm: name, address: address, agentBinary: agent, force: force)
            progress.finish()
            try options.emit(AgentDeployOutput(vm: name, address: address, outcome: outcome))
        }
    }
}

struct AgentStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Ask a VM's agent for its version, identity and features.",
        discussion: "Example: somnus agent status demo")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let record = try manager.record(name)
            guard let address = record.address else {
                throw SupervisorError(.invalidState, "'\(name)' has no agent deployed yet (`somnus agent deploy`)")
            }
            let client = try AgentConnector(manager: manager).client(for: record, address: address)
            let status: StatusResponse
            do {
                status = try await client.call { try await $0.getStatus().ok.body.json }
            } catch {
                throw SupervisorError(.agent, "the agent of '\(name)' did not answer", cause: error)
            }
            try options.emit(status)
        }
    }
}

struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health", abstract: "Poll every VM's agent once, or keep watching and print each change.",
        discussion: "Example: somnus health --watch")
    @OptionGroup var options: GlobalOptions
    @Flag(help: "Keep polling and print every state change until interrupted.") var watch = false

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let poller = HealthPoller(manager: manager, connector: try AgentConnector(manager: manager), logger: logger)
            { health in
                try? options.emit(health)
            }
            guard watch else {
                try options.emit(HealthList(results: await poller.sweep()))
                return
            }
            try await runServices([poller], logger: logger)
        }
    }
}

/// `somnus daemon`: the poller and the reconciler as long-running services.
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: """
            Run the health poller, the inventory reconciler, the pack cache server and the warm pool's refill \
            until SIGTERM or SIGINT.
            """,
        discussion: "Example: somnus daemon --metrics-address 127.0.0.1:9100")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Serve the fleet's Prometheus metrics at http://HOST:PORT/metrics, on a loopback address.")
    var metricsAddress: String?
    @Option(help: "The agent binary deployed into new warm pool VMs (default: somnus-agent beside this executable).")
    var agentBinary: String?
    @Flag(help: "On SIGTERM or SIGINT, suspend every running VM (saving its memory) before exiting.")
    var suspendOnExit = false

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let metrics = SupervisorMetrics()
            let connector = try AgentConnector(manager: manager)
            let poller = HealthPoller(manager: manager, connector: connector, logger: logger, metrics: metrics)
            let keeper = try? PoolKeeper(
                pool: WarmPool(manager: manager, connector: connector, logger: logger),
                agentBinary: ImageBuilder.locateAgentBinary(agentBinary))
            let reconciler = Reconciler(manager: manager, logger: logger)
            let packCache = await manager.packCacheServer(logger: logger)
            let metricsServer = try metricsAddress.map { address throws(SupervisorError) in
                try SupervisorMetricsServer(address: address, manager: manager, metrics: metrics, logger: logger)
            }
            let services: [any Service] =
                [poller, reconciler] + (packCache.map { [$0] } ?? []) + (metricsServer.map { [$0] } ?? [])
                + (keeper.map { [$0] } ?? [])
                + (suspendOnExit ? [ShutdownSuspender(manager: manager, logger: logger)] : [])
            try await runServices(services, logger: logger)
        }
    }
}

/// What `agent deploy` did, and why.
struct AgentDeployOutput: CommandOutput {
    var vm: String
    var address: String
    var outcome: AgentDeployOutcome

    func encode(to encoder: any Encoder) throws {
        try outcome.encode(to: encoder)
    }

    var text: String {
        let verb = outcome.uploaded ? "deployed" : "already up to date"
        return "agent \(outcome.status.agentVersion) \(verb) on \(vm) (\(address)): \(outcome.reason)"
    }
}

extension StatusResponse: CommandOutput {
    var text: String {
        Output.table(
            ["FIELD", "VALUE"],
            [
                ["agent version", agentVersion], ["protocol", String(protocolVersion)],
                ["binary sha256", binarySHA256], ["uptime", String(format: "%.0f s", uptimeSeconds)],
                ["boot id", bootID], ["hostname", hostname], ["features", features.joined(separator: ", ")],
            ])
    }
}

/// One sweep of every VM's agent (`health`).
struct HealthList: CommandOutput {
    var results: [AgentHealth]

    func encode(to encoder: any Encoder) throws {
        try results.encode(to: encoder)
    }

    var text: String {
        Output.table(
            ["NAME", "HEALTH", "AGENT", "DETAIL"],
            results.map { [$0.vm, $0.summary, $0.agentVersion ?? "-", $0.detail ?? ""] })
    }
}

/// One health change (`health --watch`).
extension AgentHealth: CommandOutput {
    var text: String {
        "\(observedAt.formatted(.iso8601))  \(vm)  \(summary)  \(detail ?? "")"
    }
}

/// Runs services in one group that shuts down gracefully on SIGTERM and SIGINT.
func runServices(_ services: [any Service], logger: Logger) async throws(SupervisorError) {
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    do {
        try await group.run()
    } catch {
        throw SupervisorError(.agent, "a service stopped with an error", cause: error)
    }
}

import AgentAPI
import ArgumentParser
import Curl
import Foundation
import Logging
import SSH
import SupervisorCore
import UnixSignals

/// `somnus up NAME`: the main job, from nothing to a VM with a healthy agent.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Build the image if needed, create and boot a VM, deploy the agent and wait until it is healthy.")

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "Resource profile for a new VM.") var profile = "idle"
    @Option(help: "Accelerator: kvm or tcg (default: probe the host).") var accel: Accelerator?
    @Option(help: "The Images recipe directory (default: found beside the executable).") var recipe: String?
    @Option(help: "The agent binary to deploy (default: somnus-agent beside this executable).") var agentBinary: String?
    @Option(help: "Seconds to wait for the guest to boot and answer SSH.") var bootTimeout = 600

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let agent = try ImageBuilder.locateAgentBinary(agentBinary)
            let manager = try await options.manager(logger)
            let connector = try AgentConnector(manager: manager)
            let deployer = AgentDeployer(manager: manager, connector: connector, logger: logger)
            let keyPair = try deployer.ensureKeyPair()

            let recipeDirectory = try ImageBuilder.locateRecipe(recipe)
            let image = try await ImageBuilder.build(
                recipeDirectory: recipeDirectory, outputDirectory: manager.layout.baseImageDirectory,
                publicKeyPath: keyPair.publicKeyPath
            ) { line in Output.note("image: " + line) }
            if let bytes = image.imageBytes {
                Output.note("image: ready (\(bytes / 1_048_576) MiB)")
            }

            if try manager.inventory.vm(named: name) == nil {
                _ = try await manager.create(name: name, profileName: profile, accelerator: accel)
                Output.note("created \(name)")
            }
            let clock = ContinuousClock()
            let started = clock.now
            let progress = ProgressLine(enabled: !options.json)
            defer { progress.finish() }
            try await manager.start(name: name)
            progress.update("\(name): booting, waiting for its address")
            let address = try await waitForLease(manager, deadline: .seconds(bootTimeout))
            progress.update("\(name): address \(address); waiting for SSH, then checking the agent")
            let outcome = try await deployer.ensureDeployed(
                vm: name, address: address, agentBinary: agent, sshDeadline: .seconds(bootTimeout))
            let status = outcome.status
            progress.finish(
                options.json ? nil : "agent \(outcome.uploaded ? "deployed" : "already up to date"): \(outcome.reason)")
            let seconds = (clock.now - started).seconds
            let health = await HealthPoller(manager: manager, connector: connector, logger: logger).probe(
                try manager.record(name))
            try manager.inventory.record(health)
            let state = try await manager.status(name: name).state
            let summary = UpSummary(
                name: name, state: state, address: address, agentVersion: status.agentVersion,
                health: health.summary, bootToReadySeconds: seconds)
            if options.json {
                try printJSON(summary)
            } else {
                Output.table(
                    ["NAME", "STATE", "ADDRESS", "AGENT", "HEALTH", "BOOT-TO-READY"],
                    [[name, state, address, status.agentVersion, health.summary, String(format: "%.1f s", seconds)]])
            }
            guard health.state == .healthy else {
                throw SupervisorError(.agent, "the agent of '\(name)' is \(health.summary)")
            }
        }
    }

    private func waitForLease(_ manager: VMManager, deadline: Duration) async throws(SupervisorError) -> String {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while clock.now < end {
            if let address = try await manager.leasedAddress(name: name) {
                return address
            }
            guard try await manager.isRunning(name: name) else {
                throw SupervisorError(
                    .invalidState, "'\(name)' stopped while booting; see `somnus vm console-log \(name)`")
            }
            try? await Task.sleep(for: .seconds(1))
        }
        throw SupervisorError(
            .timeout, "'\(name)' got no DHCP lease within \(deadline); see `somnus vm console-log \(name)`")
    }
}

/// What `somnus up` prints.
struct UpSummary: Codable {
    var name: String
    var state: String
    var address: String
    var agentVersion: String
    var health: String
    var bootToReadySeconds: Double

    enum CodingKeys: String, CodingKey {
        case name, state, address, health
        case agentVersion = "agent_version"
        case bootToReadySeconds = "boot_to_ready_seconds"
    }
}

/// `somnus down NAME`: stop and delete.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Stop a VM and delete it with its disk, snapshots and inventory rows.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "Seconds to wait for a clean shutdown before destroying it.") var timeout = 30

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            try await manager.stop(name: name, deadline: .seconds(timeout))
            try await manager.delete(name: name)
            if options.json {
                try printJSON(["deleted": name])
            } else {
                print("deleted \(name)")
            }
        }
    }
}

/// `somnus image build`.
struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image", abstract: "Build the base guest image.", subcommands: [ImageBuild.self])
}

struct ImageBuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the base guest image from Debian packages; an unchanged recipe is not rebuilt.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "The Images recipe directory (default: found beside the executable).") var recipe: String?
    @Option(help: "Output directory (default: the state directory's images/base).") var output: String?

    func run() async throws {
        try await options.run { _ throws(SupervisorError) in
            let layout = StateLayout(root: options.stateDir)
            let keyPair = try AgentDeployer.ensureKeyPair(layout: layout)
            let directory = output ?? layout.baseImageDirectory
            let image = try await ImageBuilder.build(
                recipeDirectory: try ImageBuilder.locateRecipe(recipe), outputDirectory: directory,
                publicKeyPath: keyPair.publicKeyPath
            ) { line in Output.note(line) }
            if options.json {
                try printJSON(image)
            } else {
                print("image ready: \(directory)/\(image.disk)")
            }
        }
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

import ArgumentParser
import Foundation
import SSH
import SupervisorCore
import Synchronization

/// `somnus up NAME`: the main job, from nothing to a VM with a healthy agent.
struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Build the image if needed, create and boot a VM, deploy the agent and wait until it is healthy.",
        discussion: "Example: somnus up demo --profile coding")

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "Resource profile for a new VM.") var profile = "idle"
    @Option(help: "Accelerator: kvm or tcg (default: probe the host).") var accel: Accelerator?
    @Option(help: "The Images recipe directory (default: found beside the executable).") var recipe: String?
    @Option(help: "The agent binary to deploy (default: somnus-agent beside this executable).") var agentBinary: String?
    @Option(help: "Seconds to wait for the guest to boot and answer SSH.") var bootTimeout = 600
    @Flag(help: "Boot a new VM even when the warm pool has a parked one (see `somnus pool`).") var noPool = false

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let agent = try ImageBuilder.locateAgentBinary(agentBinary)
            let manager = try await options.manager(logger)
            // The progress line, and the seconds it shows, start with the VM, after the image and the create.
            let progressLine = Mutex<ProgressLine?>(nil)
            defer { progressLine.withLock { $0?.finish() } }
            let json = options.json
            let summary = try await UpWorkflow(manager: manager, logger: logger).run(
                UpWorkflow.Request(
                    name: name, profile: profile, accelerator: accel, recipe: recipe, agentBinary: agent,
                    bootTimeout: .seconds(bootTimeout), usePool: !noPool)
            ) { step in
                switch step {
                case .imageLine(let line):
                    Output.note("image: " + line)
                case .imageReady(let bytes):
                    if let bytes { Output.note("image: ready (\(bytes / 1_048_576) MiB)") }
                case .created(let vm):
                    Output.note("created \(vm)")
                case .takenFromPool(let vm, let poolVM):
                    Output.note("took \(poolVM) from the warm pool as \(vm); restoring it")
                case .starting:
                    progressLine.withLock { $0 = ProgressLine(enabled: !json) }
                case .booting(let vm):
                    progressLine.withLock { $0?.update("\(vm): booting, waiting for its address") }
                case .addressed(let vm, let address):
                    progressLine.withLock {
                        $0?.update("\(vm): address \(address); waiting for SSH, then checking the agent")
                    }
                case .deployed(let uploaded, let reason):
                    progressLine.withLock {
                        $0?.finish(json ? nil : "agent \(uploaded ? "deployed" : "already up to date"): \(reason)")
                    }
                }
            }
            try options.emit(summary)
            guard summary.isHealthy else {
                throw SupervisorError(.agent, "the agent of '\(name)' is \(summary.health)")
            }
        }
    }
}

/// `somnus down NAME`: stop and delete.
struct DownCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "down", abstract: "Stop a VM and delete it with its disk, snapshots and inventory rows.",
        discussion: "Example: somnus down demo")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "Seconds to wait for a clean shutdown before destroying it.") var timeout = 30

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            try await manager.stop(name: name, deadline: .seconds(timeout))
            try await manager.delete(name: name)
            try options.emit(DeletedOutput(deleted: name))
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
        abstract: "Build the base guest image from Debian packages; an unchanged recipe is not rebuilt.",
        discussion: "Example: somnus image build")
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
            try options.emit(ImageBuildOutput(directory: directory, image: image))
        }
    }
}

import ArgumentParser
import Foundation
import Logging
import SSH
import SupervisorCore

/// `somnus pool …`: the warm pool of parked VMs that `up` restores in seconds.
struct PoolCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pool",
        abstract: "Keep VMs booted, deployed and parked, so that `somnus up` restores one instead of booting.",
        discussion: """
            A pool VM is made like any other (its own MAC address, machine-id, SSH host keys, token and agent) and \
            then suspended to disk. `somnus up NEW` takes the oldest one made from the current image, gives it the \
            name, restores it and pushes the host's clock; `somnus daemon` refills the pool to its size.
            """,
        subcommands: [PoolFill.self, PoolStatusCommand.self, PoolDrain.self])

    /// The pool of the state directory the options name.
    static func pool(_ options: GlobalOptions, logger: Logger) async throws(SupervisorError) -> WarmPool {
        let manager = try await options.manager(logger)
        return WarmPool(manager: manager, connector: try AgentConnector(manager: manager), logger: logger)
    }
}

struct PoolFill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fill",
        abstract: "Set the pool's size and profile, remove VMs of outdated images, and make VMs until it is full.",
        discussion: "Example: somnus pool fill --size 2 --profile coding")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Parked VMs to keep (default: the stored size, 0 at first).") var size: Int?
    @Option(help: "Resource profile of new pool VMs (default: the stored one, idle at first).") var profile: String?
    @Option(help: "The Images recipe directory (default: found beside the executable).") var recipe: String?
    @Option(help: "The agent binary to deploy (default: somnus-agent beside this executable).") var agentBinary: String?
    @Option(help: "Seconds a pool VM may take to boot and answer SSH.") var bootTimeout = 600

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let agent = try ImageBuilder.locateAgentBinary(agentBinary)
            let pool = try await PoolCommand.pool(options, logger: logger)
            let manager = pool.manager
            var settings = try pool.settings()
            settings.size = size ?? settings.size
            settings.profile = profile ?? settings.profile
            try pool.store(settings)
            let image = try await PoolStatusCommand.currentImage(manager: manager, recipe: recipe)
            let made = try await pool.fill(image: image, agentBinary: agent, bootTimeout: .seconds(bootTimeout)) {
                Output.note("pool: " + $0)
            }
            try options.emit(PoolOutput(made: made, status: try await pool.status(currentImage: image)))
        }
    }
}

struct PoolStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the pool's size, its VMs and the host disk they take.",
        discussion: "Example: somnus pool status --json")
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let pool = try await PoolCommand.pool(options, logger: logger)
            try options.emit(PoolOutput(made: nil, status: try await pool.status(currentImage: pool.builtImage())))
        }
    }

    /// The current base image's input hash, built first when its recipe changed (as `up` does).
    static func currentImage(manager: VMManager, recipe: String?) async throws(SupervisorError) -> String {
        let keyPair = try AgentDeployer.ensureKeyPair(layout: manager.layout)
        return try await ImageBuilder.build(
            recipeDirectory: try ImageBuilder.locateRecipe(recipe), outputDirectory: manager.layout.baseImageDirectory,
            publicKeyPath: keyPair.publicKeyPath
        ) { line in Output.note("image: " + line) }.inputHash
    }
}

struct PoolDrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Delete every pool VM and set the pool's size to 0, so the daemon does not refill it.",
        discussion: "Example: somnus pool drain")
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let pool = try await PoolCommand.pool(options, logger: logger)
            let removed = try await pool.drain { Output.note("pool: " + $0) }
            try options.emit(
                PoolOutput(removed: removed, status: try await pool.status(currentImage: pool.builtImage())))
        }
    }
}

/// What the pool commands print: the VMs made or removed, then the pool.
struct PoolOutput: CommandOutput {
    var made: [String]?
    var removed: [String]?
    var status: PoolStatus

    init(made: [String]?, status: PoolStatus) {
        self.made = made
        self.status = status
    }

    init(removed: [String], status: PoolStatus) {
        self.removed = removed
        self.status = status
    }

    var text: String {
        var lines: [String] = []
        if let made { lines.append("made: \(made.isEmpty ? "none" : made.joined(separator: ", "))") }
        if let removed { lines.append("removed: \(removed.isEmpty ? "none" : removed.joined(separator: ", "))") }
        lines.append(
            "pool: \(status.ready) of \(status.settings.size) ready (profile \(status.settings.profile)), "
                + "\(status.totalBytes / 1_048_576) MiB of host disk")
        if !status.vms.isEmpty {
            let rows = status.vms.map { entry in
                [
                    entry.name, entry.state, entry.current ? "current" : "outdated", entry.profile,
                    entry.saveBytes.map { "\($0 / 1_048_576) MiB" } ?? "-",
                    entry.diskBytes.map { "\($0 / 1_048_576) MiB" } ?? "-",
                ]
            }
            lines.append(Output.table(["NAME", "STATE", "IMAGE", "PROFILE", "SAVED MEMORY", "DISK"], rows))
        }
        return lines.joined(separator: "\n")
    }
}

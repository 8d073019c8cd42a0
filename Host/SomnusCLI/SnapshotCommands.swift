import ArgumentParser
import Foundation
import SupervisorCore

/// `somnus snapshot …`.
struct SnapshotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot", abstract: "Take, list, revert and delete VM snapshots.",
        subcommands: [SnapshotCreate.self, SnapshotList.self, SnapshotRevert.self, SnapshotDelete.self])
}

struct SnapshotCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Snapshot a VM (disk and memory), freezing its filesystems through the agent when it can.",
        discussion: "Example: somnus snapshot create demo --name before-upgrade")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(help: "The snapshot's name (default: snap-<unix time>).") var name: String?
    @Option(help: "Free text stored with the snapshot.") var description = ""

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let progress = ProgressLine(enabled: !options.json)
            defer { progress.finish() }
            let coordinator = SnapshotCoordinator(manager: manager, connector: try AgentConnector(manager: manager)) {
                progress.update($0)
            }
            let snapshot = try await coordinator.takeSnapshot(
                vm: vm, name: name ?? SnapshotCoordinator.defaultName(), description: description)
            progress.finish()
            try options.emit(SnapshotListOutput(snapshots: [snapshot]))
        }
    }
}

struct SnapshotList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a VM's snapshots.", discussion: "Example: somnus snapshot list demo")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            try options.emit(SnapshotListOutput(snapshots: try manager.snapshots(vm: vm)))
        }
    }
}

struct SnapshotRevert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert",
        abstract: "Revert a VM to a snapshot, then thaw its filesystems, push the host's time and wait for its agent.",
        discussion: "Example: somnus snapshot revert demo before-upgrade")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Argument(help: "The snapshot's name.") var name: String
    @Option(help: "Seconds to wait for the agent to answer ready after the revert.") var readyTimeout = 180

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let progress = ProgressLine(enabled: !options.json)
            defer { progress.finish() }
            var coordinator = SnapshotCoordinator(manager: manager, connector: try AgentConnector(manager: manager)) {
                progress.update($0)
            }
            coordinator.readyDeadline = .seconds(readyTimeout)
            let report = try await coordinator.revertSnapshot(vm: vm, name: name)
            progress.finish()
            try options.emit(SnapshotRevertOutput(vm: vm, name: name, report: report))
        }
    }
}

struct SnapshotDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a snapshot.",
        discussion: "Example: somnus snapshot delete demo before-upgrade")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Argument(help: "The snapshot's name.") var name: String

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            try await manager.deleteSnapshot(vm: vm, name: name)
            try options.emit(DeletedOutput(deleted: name, vm: vm))
        }
    }
}

/// Prints snapshots as a table or JSON.
/// A VM's snapshots (`snapshot list`, and the one `snapshot create` took).
struct SnapshotListOutput: CommandOutput {
    var snapshots: [SnapshotRecord]

    func encode(to encoder: any Encoder) throws {
        try snapshots.encode(to: encoder)
    }

    var text: String {
        Output.table(
            ["NAME", "CREATED", "QUIESCED", "DESCRIPTION"],
            snapshots.map { snapshot in
                [
                    snapshot.name, snapshot.createdAt.formatted(.iso8601),
                    snapshot.quiesced ? "yes" : "no (\(snapshot.quiesceReason ?? "unknown"))", snapshot.description,
                ]
            })
    }
}

/// What `snapshot revert` did: the revert, the thaw, the clock and the agent.
struct SnapshotRevertOutput: CommandOutput {
    var vm: String
    var name: String
    var report: SnapshotRevertReport

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
    }

    var text: String {
        Output.table(
            ["VM", "SNAPSHOT", "REVERT", "THAWED", "CLOCK DRIFT", "AGENT", "TOTAL"],
            [
                [
                    vm, name, String(format: "%.1f s", report.revertSeconds),
                    report.thawed.map { $0.isEmpty ? "nothing frozen" : $0.joined(separator: " ") } ?? "-",
                    report.driftMilliseconds.map {
                        String(format: "%.0f ms", $0) + (report.timeCorrected ? " (corrected)" : "")
                    } ?? "-",
                    report.agentReady ? "ready" : "no agent", String(format: "%.1f s", report.totalSeconds),
                ]
            ])
    }
}

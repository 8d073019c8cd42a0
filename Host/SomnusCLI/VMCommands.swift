import AgentAPI
public import ArgumentParser
import Foundation
import SupervisorCore

/// `somnus vm …`: the VM lifecycle.
struct VMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vm",
        abstract: "Create, start, stop, scale, inspect and delete VMs.",
        subcommands: [
            VMCreate.self, VMStart.self, VMStop.self, VMSuspend.self, VMResume.self, VMDelete.self, VMShow.self,
            VMList.self, VMProfile.self, VMConsoleLog.self,
        ]
    )
}

struct VMCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Define a new VM on a copy-on-write overlay of the base image.",
        discussion: "Example: somnus vm create demo --profile coding --start")

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name: lowercase letters, digits and '-'.") var name: String
    @Option(
        help: """
            The base image: the images directory (default: the state directory's images/base, whose newest \
            image is used) or one image's directory in it, as `somnus image build` prints.
            """)
    var image: String?
    @Option(help: "Resource profile to start with.") var profile = "idle"
    @Option(help: "Virtual disk size in GiB.") var diskGb = 20
    @Option(help: "Accelerator: kvm or tcg (default: probe the host).") var accel: Accelerator?
    @Flag(help: "Start the VM after defining it; a parked VM of the warm pool is restored instead when one fits.")
    var start = false
    @Flag(help: "With --start, define and boot a new VM even when the warm pool has a parked one.") var noPool = false
    @Option(help: "With --start, seconds to wait for the agent of a VM taken from the warm pool.") var readyTimeout =
        120

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let location = try BaseImage.locate(image ?? manager.layout.baseImageDirectory)
            // The pool's VMs have the default image, disk and accelerator: only such a VM may be one.
            if start, !noPool, image == nil, diskGb == 20, accel == nil {
                let connector = try AgentConnector(manager: manager)
                let pool = WarmPool(manager: manager, connector: connector, logger: logger)
                if let taken = try await pool.take(as: name, image: location.image.inputHash) {
                    if !options.json {
                        Output.note("took \(taken.domain) from the warm pool as \(name); restoring it")
                    }
                    var coordinator = SuspendCoordinator(manager: manager, connector: connector)
                    coordinator.readyDeadline = .seconds(readyTimeout)
                    _ = try await coordinator.resume(vm: name)
                    if taken.profile != profile {
                        _ = try await manager.applyProfile(name: name, profileName: profile)
                    }
                    try options.emit(VMStatusList(statuses: [try await manager.status(name: name)]))
                    return
                }
            }
            let record = try await manager.create(
                name: name, imageDirectory: location.directory, profileName: profile, diskGiB: diskGb,
                accelerator: accel)
            if !options.json {
                Output.note("created \(name) from \(location.summary)")
            }
            if start {
                try await manager.start(name: name)
            }
            let status = try await manager.status(name: record.name)
            try options.emit(VMStatusList(statuses: [status]))
        }
    }
}

extension Accelerator: ExpressibleByArgument {}

struct VMStart: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start", abstract: "Start a VM; a suspended one is resumed as `vm resume` does.",
        discussion: "Example: somnus vm start demo")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "Seconds to wait for the agent to answer healthy when resuming a suspended VM.")
    var readyTimeout = 120

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            if try await manager.isSuspended(name: name) {
                try await VMResume.resume(name, manager: manager, readyTimeout: readyTimeout, options: options)
                return
            }
            try await manager.start(name: name)
            try options.emit(VMStatusList(statuses: [try await manager.status(name: name)]))
        }
    }
}

struct VMSuspend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suspend",
        abstract: "Save a running VM's memory to disk and stop it; `vm resume` brings it back where it was.",
        discussion: "Example: somnus vm suspend demo")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let progress = ProgressLine(enabled: !options.json)
            defer { progress.finish() }
            let coordinator = SuspendCoordinator(manager: manager, connector: try AgentConnector(manager: manager)) {
                progress.update($0)
            }
            let report = try await coordinator.suspend(vm: name)
            progress.finish()
            try options.emit(SuspendOutput(report: report))
        }
    }
}

struct VMResume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Restore a suspended VM's memory, push the host's clock to it and wait for its agent.",
        discussion: "Example: somnus vm resume demo")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "Seconds to wait for the agent to answer healthy after the restore.") var readyTimeout = 120

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            try await Self.resume(name, manager: manager, readyTimeout: readyTimeout, options: options)
        }
    }

    /// Resumes `name` with progress on standard error and prints what the resume did.
    static func resume(
        _ name: String, manager: VMManager, readyTimeout: Int, options: GlobalOptions
    ) async throws(SupervisorError) {
        let progress = ProgressLine(enabled: !options.json)
        defer { progress.finish() }
        var coordinator = SuspendCoordinator(manager: manager, connector: try AgentConnector(manager: manager)) {
            progress.update($0)
        }
        coordinator.readyDeadline = .seconds(readyTimeout)
        let report = try await coordinator.resume(vm: name)
        progress.finish()
        try options.emit(ResumeOutput(report: report))
    }
}

struct VMStop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Shut a VM down through ACPI; destroy it if it is still running after the deadline.",
        discussion: "Example: somnus vm stop demo --timeout 30")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "Seconds to wait for a clean shutdown.") var timeout = 60

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let clean = try await manager.stop(name: name, deadline: .seconds(timeout))
            if !clean {
                Output.note("warning: '\(name)' did not shut down within \(timeout) s and was destroyed")
            }
            try options.emit(VMStatusList(statuses: [try await manager.status(name: name)]))
        }
    }
}

struct VMDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Destroy a VM and remove its domain, snapshots, disk and inventory rows.",
        discussion: "Example: somnus vm delete demo")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            try await manager.delete(name: name)
            try options.emit(DeletedOutput(deleted: name))
        }
    }
}

struct VMShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one VM.", discussion: "Example: somnus vm show demo --json")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            try options.emit(VMDetail(status: try await manager.status(name: name)))
        }
    }
}

struct VMList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List VMs.", discussion: "Example: somnus --state-dir /srv/somnus --json vm list"
    )
    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            try options.emit(VMStatusList(statuses: try await manager.list()))
        }
    }
}

struct VMProfile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile", abstract: "Apply a resource profile (vCPUs and memory) to a VM, live when it runs.",
        discussion: "Example: somnus vm profile demo research")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Argument(help: "The profile: idle, coding, research, media_creation or a custom one.") var profile: String

    @Option(help: "Seconds to wait for the guest's agent to see the new vCPUs and memory online.")
    var confirmTimeout = 180

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let applied = try await manager.applyProfile(name: name, profileName: profile)
            let record = try manager.record(name)
            if try await manager.isRunning(name: name), let address = record.address {
                let progress = ProgressLine(enabled: !options.json)
                defer { progress.finish() }
                progress.update("applied '\(applied.name)' to \(name); waiting for the guest to bring it online")
                let client = try AgentConnector(manager: manager).client(for: record, address: address)
                let stats = try await client.confirm(applied, deadline: .seconds(confirmTimeout))
                progress.finish()
                Output.note(
                    "confirmed by the agent: \(stats.cpuCount) vCPUs, \(stats.memoryTotalBytes / 1_048_576) MiB online")
            }
            try options.emit(VMStatusList(statuses: [try await manager.status(name: name)]))
        }
    }
}

struct VMConsoleLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console-log", abstract: "Print what the VM wrote to its serial console.",
        discussion: "Example: somnus vm console-log demo --tail 50")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var name: String
    @Option(help: "Print only the last N lines (0: all).") var tail = 0

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let record = try manager.record(name)
            guard let data = FileManager.default.contents(atPath: record.consoleLogPath) else {
                throw SupervisorError(.notFound, "no console log yet at \(record.consoleLogPath)")
            }
            var lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            if tail > 0 { lines = lines.suffix(tail) }
            try options.emit(ConsoleLogOutput(path: record.consoleLogPath, lines: lines.map(String.init)))
        }
    }
}

/// What `vm suspend` did.
struct SuspendOutput: CommandOutput {
    var report: SuspendReport

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
    }

    var text: String {
        Output.table(
            ["VM", "STATE", "SUSPEND"],
            [[report.vm, VMStatus.suspended, String(format: "%.1f s", report.suspendSeconds)]]
        )
    }
}

/// What `vm resume` (and `vm start` of a suspended VM) did: the restore, the clock and the agent.
struct ResumeOutput: CommandOutput {
    var report: ResumeReport

    func encode(to encoder: any Encoder) throws {
        try report.encode(to: encoder)
    }

    var text: String {
        Output.table(
            ["VM", "RESTORE", "CLOCK DRIFT", "AGENT", "RESUME-TO-HEALTHY"],
            [
                [
                    report.vm, String(format: "%.1f s", report.restoreSeconds),
                    report.driftMilliseconds.map {
                        String(format: "%.0f ms", $0) + (report.timeCorrected ? " (corrected)" : "")
                    } ?? "-",
                    report.agentReady ? "healthy" : "no agent", String(format: "%.1f s", report.totalSeconds),
                ]
            ])
    }
}

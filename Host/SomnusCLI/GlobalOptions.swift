import ArgumentParser
import Logging
import SupervisorCore

/// Options every `somnus` command accepts.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Directory holding the inventory, SSH keys, images and disks.")
    var stateDir: String = "/var/lib/somnus"

    @Option(help: "libvirt connection URI.")
    var libvirtURI: String = "qemu:///system"

    @Option(
        help:
            "Custom resource profiles (JSON: name → vcpus, memory_mib, gpu); default <state-dir>/profiles.json when it exists."
    )
    var profiles: String?

    @Flag(help: "Print machine-readable JSON instead of tables.")
    var json = false

    @Flag(name: .short, help: "Verbose logs on standard error.")
    var verbose = false

    /// Bootstraps logging once, to standard error, at the level the flags ask for.
    func makeLogger() -> Logger {
        LoggingBootstrap.once(level: verbose ? .debug : .warning)
        return Logger(label: "somnus")
    }
}

/// Bootstraps swift-log exactly once per process.
enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false

    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

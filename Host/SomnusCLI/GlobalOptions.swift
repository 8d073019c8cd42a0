import ArgumentParser
import Foundation
import Logging
import SupervisorCore

/// Options every `somnus` command accepts, before or after the subcommand (see ``GlobalArguments``).
struct GlobalOptions: ParsableArguments {
    /// The state directory used when neither `--state-dir` nor `SOMNUS_STATE_DIR` names one.
    static let defaultStateDirectory = "/var/lib/somnus"
    /// The libvirt URI used when neither `--libvirt-uri` nor `LIBVIRT_DEFAULT_URI` names one.
    static let defaultLibvirtURI = "qemu:///system"

    @Option(
        name: .customLong("state-dir"),
        help: """
            Directory holding the inventory, SSH keys, images and disks \
            (default: $SOMNUS_STATE_DIR, else /var/lib/somnus).
            """)
    var stateDirOption: String?

    @Option(
        name: .customLong("libvirt-uri"),
        help: "libvirt connection URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system).")
    var libvirtURIOption: String?

    @Option(
        help:
            "Custom resource profiles (JSON: name → vcpus, memory_mib, gpu); default <state-dir>/profiles.json when it exists."
    )
    var profiles: String?

    @Flag(help: "Print machine-readable JSON instead of tables.")
    var json = false

    @Flag(name: [.short, .long], help: "Verbose logs on standard error.")
    var verbose = false

    /// The state directory: `--state-dir`, else `SOMNUS_STATE_DIR`, else `/var/lib/somnus`.
    var stateDir: String {
        stateDirOption ?? Self.environment("SOMNUS_STATE_DIR") ?? Self.defaultStateDirectory
    }

    /// The libvirt URI: `--libvirt-uri`, else `LIBVIRT_DEFAULT_URI`, else `qemu:///system`.
    var libvirtURI: String {
        libvirtURIOption ?? Self.environment("LIBVIRT_DEFAULT_URI") ?? Self.defaultLibvirtURI
    }

    private static func environment(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// Bootstraps logging once, to standard error, at the level the flags ask for.
    func makeLogger() -> Logger {
        LoggingBootstrap.once(level: verbose ? .debug : .warning)
        return Logger(label: "somnus")
    }
}

/// Lets the global options come before the subcommand, as in `somnus --state-dir DIR vm list`.
///
/// ArgumentParser only accepts a subcommand's options after its name, so the global options written before
/// the subcommand path are moved to just after it; everything else keeps its place.
enum GlobalArguments {
    /// Global options that take a value.
    static let valued: Set<String> = ["--state-dir", "--libvirt-uri", "--profiles"]
    /// Global flags.
    static let flags: Set<String> = ["--json", "-v", "--verbose"]

    /// `arguments` (without the executable's name) with the global options found before the subcommand path
    /// of `root` moved to just after that path.
    static func reorder(_ arguments: [String], root: any ParsableCommand.Type) -> [String] {
        var path: [String] = []
        var global: [String] = []
        var command = root
        var index = 0
        scan: while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if flags.contains(argument) {
                global.append(argument)
            } else if valued.contains(name) {
                global.append(argument)
                if name == argument, index + 1 < arguments.count {
                    index += 1
                    global.append(arguments[index])
                }
            } else if let subcommand = command.configuration.subcommands.first(where: {
                $0.configuration.commandName == argument
            }) {
                path.append(argument)
                command = subcommand
            } else {
                break scan
            }
            index += 1
        }
        return path + global + arguments[index...]
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

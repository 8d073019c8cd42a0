import AgentAPI
import AgentBasics
import AgentCore
import AgentSystem
import ArgumentParser
import FoundationEssentials
import Logging

/// The root of the `somnus-agent` command line.
@main
struct SomnusAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "somnus-agent",
        abstract: "The Somnus guest agent: health, monitoring, exec jobs and memory inside a VM.",
        version: AgentProtocol.somnusVersion,
        subcommands: [
            ServeCommand.self, InstallCommand.self, ThawCommand.self, ClassifyCommand.self, MemoryCommand.self,
            MCPCommand.self, RequestCommand.self,
        ]
    )
}

/// Options shared by `serve` and `install`: each overrides the configuration file's key.
struct ConfigurationOptions: ParsableArguments {
    @Option(name: .customLong("config"), help: "The JSON configuration file (missing = defaults).")
    var configPath = AgentConfiguration.defaultPath

    @Option(help: "HOST:PORT of the TCP listener for the host (default 0.0.0.0:9901).")
    var listen: String?

    @Option(help: "The file holding the bearer token (default /etc/somnus/agent.token).")
    var tokenFile: String?

    @Option(
        name: .customLong("tls-dir"),
        help: "The TCP listener's TLS files agent.crt, agent.key and host.crt (default /etc/somnus/tls).")
    var tlsDirectory: String?

    @Option(help: "The unix socket for clients inside the VM (default /run/somnus/agent.sock).")
    var socket: String?

    @Option(
        name: .customLong("data-dir"),
        help: """
            The agent's state directory (default /var/lib/somnus-agent, apart from the supervisor's \
            /var/lib/somnus on a host; `install` writes the guest image's /var/lib/somnus).
            """)
    var dataDirectory: String?

    /// The data directory of the Somnus guest image, where it bakes the memory model; `install` writes it into
    /// the guest's configuration file unless `--data-dir` says otherwise.
    static let guestDataDirectory = "/var/lib/somnus"

    var overrides: AgentConfiguration.Overrides {
        AgentConfiguration.Overrides(
            listen: listen, tokenFile: tokenFile, tlsDirectory: tlsDirectory, socketPath: socket,
            dataDirectory: dataDirectory)
    }
}

/// `somnus-agent serve`: runs the agent until SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the agent.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let source = AgentConfiguration.Source(path: options.configPath, overrides: options.overrides)
        let configuration: AgentConfiguration
        do {
            configuration = try source.load()
        } catch {
            StandardStreams.writeError("somnus-agent: invalid configuration: \(error.message)\n")
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "somnus-agent")
        // Once start-up is over (listeners bound, memory store open, first monitor sample), give back its freed
        // heap pages and the pages of code and constants only start-up used.
        try await AgentServer(configuration: configuration, configurationSource: source, logger: logger).run(
            onSettled: {
                AgentFootprint.releaseStartUpMemory()
            })
    }
}

/// `somnus-agent install`: writes the systemd unit and configuration, then (re)starts the service.
struct InstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Install and start the agent's systemd service."
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(help: "Where to write the systemd unit.")
    var unitPath = "/etc/systemd/system/somnus-agent.service"

    @Flag(help: "Write the files only; do not run systemctl or create the socket's group.")
    var noSystemctl = false

    func run() async throws {
        do {
            var overrides = options.overrides
            overrides.dataDirectory = options.dataDirectory ?? ConfigurationOptions.guestDataDirectory
            let configuration = try AgentConfiguration().applying(overrides)
            let installer = AgentInstaller(
                unitPath: unitPath,
                configurationPath: options.configPath,
                systemctl: noSystemctl ? nil : "systemctl",
                groupadd: noSystemctl ? nil : "groupadd"
            )
            let wrote = try await installer.install(configuration: configuration)
            print("installed \(unitPath)\(wrote ? " and \(options.configPath)" : "")")
        } catch {
            StandardStreams.writeError("somnus-agent: install failed: \(error)\n")
            throw ExitCode(error.code == .invalidConfiguration ? 2 : 1)
        }
    }
}

/// `somnus-agent thaw`: thaws every freezable filesystem (the unit's `ExecStopPost`, so a killed agent never
/// leaves the VM frozen), prints each one that was frozen, and exits 0.
struct ThawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thaw", abstract: "Thaw every frozen filesystem (run by the unit after the agent stops).")

    @Option(help: "The mount table to read.")
    var mounts = "/proc/self/mounts"

    @Option(
        help: ArgumentHelp(
            "Guard a freeze: wait until the agent exits, a TERM, INT or HUP arrives, or this many seconds pass; then"
                + " thaw silently (the agent starts one per freeze).", valueName: "seconds"))
    var guardSeconds: Int?

    @Option(help: "With --guard-seconds: the agent's process id.")
    var agentPID: Int32?

    func validate() throws {
        if guardSeconds != nil, agentPID == nil { throw ValidationError("--guard-seconds needs --agent-pid") }
    }

    func run() {
        if let guardSeconds, let agentPID {
            _ = ThawGuard.hold(agent: agentPID, timeout: .seconds(guardSeconds))
            _ = IoctlFilesystemFreezer(mountsFile: mounts).thawAll()
            return
        }
        let thawed = IoctlFilesystemFreezer(mountsFile: mounts).thawAll()
        for mountPoint in thawed { print("thawed \(mountPoint)") }
        if thawed.isEmpty { print("nothing was frozen") }
    }
}

import AgentBasics
import AgentCore
import ArgumentParser

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

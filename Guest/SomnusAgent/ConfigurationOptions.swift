import AgentBasics
import ArgumentParser

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

public import AgentBasics
import AgentJobs
import FoundationEssentials
import Subprocess

/// Installs the agent as a systemd service: creates the unix socket's system group when missing, writes the unit
/// and, when absent, the configuration file, then reloads systemd and (re)starts the service.
public struct AgentInstaller: Sendable {
    /// The unit file, kept identical to `Images/rootfs/etc/systemd/system/somnus-agent.service`, the one the guest
    /// image ships (a test checks it).
    public static let unitFileText = """
        [Unit]
        Description=Somnus guest agent
        # The guest image ships this unit enabled; it starts once a deploy has put the binary in place. It listens
        # on every address, so it starts without waiting for the network.
        ConditionFileIsExecutable=/usr/local/bin/somnus-agent

        [Service]
        Type=notify
        NotifyAccess=main
        ExecStart=/usr/local/bin/somnus-agent serve
        # `systemctl reload somnus-agent`: the configuration file is read again without a restart.
        ExecReload=/bin/kill -HUP $MAINPID
        # However the agent ended (even killed mid-freeze), no filesystem stays frozen.
        ExecStopPost=/usr/local/bin/somnus-agent thaw
        # Two malloc arenas instead of eight per CPU: the agent's threads mostly idle, and each extra arena keeps its own
        # freed pages resident.
        Environment=MALLOC_ARENA_MAX=2
        WatchdogSec=30
        Restart=on-failure
        RestartSec=1
        OOMScoreAdjust=-500
        # Measured at 100,000 memories with the transformer: binary and runtime 35 MiB, model 30 MiB, index 64 MiB,
        # SQLite and heap 11 MiB = 140 MiB; the index takes about 0.66 KiB per short memory.
        MemoryHigh=160M
        MemoryMin=16M
        RuntimeDirectory=somnus
        RuntimeDirectoryPreserve=yes
        StateDirectory=somnus
        StateDirectoryMode=0700
        # Files the agent makes are its own: memory database, key, pack record, error monitor state.
        UMask=0077
        # Room for both listeners' connection caps (4096 each), jobs and files.
        LimitNOFILE=65536

        [Install]
        WantedBy=multi-user.target

        """

    /// The log files a newly written configuration tails when it names none: the application log `app`.
    public static let defaultLogFiles = ["app": "/var/log/somnus/app.log"]

    /// Where the unit is written.
    public var unitPath: String
    /// Where the configuration is written when absent.
    public var configurationPath: String
    /// The `systemctl` program, or `nil` to skip `daemon-reload`, `enable` and `restart` (tests).
    public var systemctl: String?
    /// The unix socket's group (see ``AgentConnectionOptions/socketGroup``), created as a system group when missing.
    public var socketGroup: String
    /// The `groupadd` program, or `nil` to skip creating the group (tests).
    public var groupadd: String?

    /// Creates an installer.
    /// - Parameters:
    ///   - unitPath: Where the unit is written.
    ///   - configurationPath: Where the configuration is written when absent.
    ///   - systemctl: The `systemctl` program, or `nil` to skip talking to systemd.
    ///   - socketGroup: The unix socket's group.
    ///   - groupadd: The `groupadd` program, or `nil` to leave the groups alone.
    public init(
        unitPath: String = "/etc/systemd/system/somnus-agent.service",
        configurationPath: String = AgentConfiguration.defaultPath,
        systemctl: String? = "systemctl",
        socketGroup: String = "somnus",
        groupadd: String? = nil
    ) {
        self.unitPath = unitPath
        self.configurationPath = configurationPath
        self.systemctl = systemctl
        self.socketGroup = socketGroup
        self.groupadd = groupadd
    }

    /// Where `systemctl enable` links the unit: `multi-user.target.wants` beside it.
    var wantsLinkPath: String {
        unitPath.parentDirectory + "/multi-user.target.wants/somnus-agent.service"
    }

    /// Creates the socket's group when missing (`groupadd --system`), writes the unit when it differs, writes the
    /// configuration when the file does not exist yet, reloads systemd when the unit changed, enables the service
    /// when it is not, and restarts it.
    /// - Parameter configuration: The configuration to write when none exists (with ``defaultLogFiles`` when it
    ///   names no log files).
    /// - Returns: Whether the configuration file was written.
    /// - Throws: ``AgentError`` `io_error` naming the file, or `command_failed` with groupadd's or systemctl's
    ///   message.
    @discardableResult
    public func install(configuration: AgentConfiguration) async throws(AgentError) -> Bool {
        if let groupadd, AgentServer.groupID(named: socketGroup) == nil {
            try await run([groupadd, "--system", socketGroup])
        }
        let unitChanged = (try? String(contentsOfFile: unitPath, encoding: .utf8)) != Self.unitFileText
        if unitChanged {
            try write(Self.unitFileText, to: unitPath, mode: 0o644)
        }
        var wroteConfiguration = false
        if !FileManager.default.fileExists(atPath: configurationPath) {
            var written = configuration
            if written.logFiles.isEmpty { written.logFiles = Self.defaultLogFiles }
            try write(written.jsonText(), to: configurationPath, mode: 0o644)
            wroteConfiguration = true
        }
        if let systemctl {
            // A reload costs seconds in a VM under TCG: only when the unit changed (the guest image ships it,
            // enabled), and `enable` without the reload it would do on its own.
            if unitChanged {
                try await run([systemctl, "daemon-reload"])
            }
            if !FileManager.default.fileExists(atPath: wantsLinkPath) {
                try await run([systemctl, "--no-reload", "enable", "somnus-agent.service"])
            }
            try await run([systemctl, "restart", "somnus-agent.service"])
        }
        return wroteConfiguration
    }

    private func write(_ text: String, to path: String, mode: Int) throws(AgentError) {
        let directory = path.parentDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        } catch {
            throw AgentError(.io, "cannot write \(path)", cause: error)
        }
    }

    private func run(_ argv: [String]) async throws(AgentError) {
        let output = try await JobProcess.output(of: argv, timeout: .seconds(120))
        guard output.termination == .exited(0) else {
            let detail = output.stderr.trimmed
            throw AgentError(
                .commandFailed,
                "\(argv.joined(separator: " ")) failed: \(detail.isEmpty ? "\(output.termination)" : detail)")
        }
    }
}

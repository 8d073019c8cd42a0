/// How the agent reaches the parts of the machine that tests must not touch for real.
public struct AgentMaintenanceOptions: Sendable {
    /// Lists, freezes and thaws filesystems for `/v1/fs/freeze` and `/v1/fs/thaw`.
    public var freezer: any FilesystemFreezer
    /// The `systemctl` program soft reboot runs (looked up in `PATH` unless it contains a slash).
    public var systemctlPath: String
    /// The deadline of one unit's `systemctl restart`.
    public var softRebootTimeout: Duration
    /// `POST /v1/time` sets the clock only when the drift is larger than this.
    public var clockDriftThreshold: Duration

    /// Creates options; the defaults are the real machine's.
    /// - Parameters:
    ///   - freezer: The filesystem freezer.
    ///   - systemctlPath: The `systemctl` program.
    ///   - softRebootTimeout: The deadline of one unit's restart.
    ///   - clockDriftThreshold: The drift above which the clock is set; tests raise it so the host's clock
    ///     never moves.
    public init(
        freezer: any FilesystemFreezer = IoctlFilesystemFreezer(),
        systemctlPath: String = "systemctl",
        softRebootTimeout: Duration = .seconds(90),
        clockDriftThreshold: Duration = .milliseconds(100)
    ) {
        self.clockDriftThreshold = clockDriftThreshold
        self.freezer = freezer
        self.systemctlPath = systemctlPath
        self.softRebootTimeout = softRebootTimeout
    }
}

/// How the listeners protect themselves from many or idle connections, and who may use the unix socket.
public struct AgentConnectionOptions: Sendable {
    /// The longest long-poll the agent serves: `GET /v1/exec/{id}/output?wait_ms=` up to 60 s.
    public static let longestLongPoll: Duration = .seconds(60)

    /// A connection with no request in progress for this long is closed; longer than ``longestLongPoll``.
    public var idleTimeout: Duration
    /// The most connections one listener keeps open. A connection beyond it closes the listener's longest-idle
    /// connection (one with no request in progress), or is itself closed at once when every connection is busy.
    public var maxConnectionsPerListener: Int
    /// The group the unix socket is given (mode 0660) when it exists; otherwise the socket stays root's only.
    public var socketGroup: String?

    /// Creates options; the defaults are the installed agent's.
    /// - Parameters:
    ///   - idleTimeout: The idle-connection timeout (default 120 s).
    ///   - maxConnectionsPerListener: The cap on open connections per listener (default 4096; the unit's
    ///     `LimitNOFILE=65536` leaves room for both listeners, jobs and files).
    ///   - socketGroup: The unix socket's group (default `somnus`).
    public init(
        idleTimeout: Duration = .seconds(120),
        maxConnectionsPerListener: Int = 4096,
        socketGroup: String? = "somnus"
    ) {
        precondition(maxConnectionsPerListener > 0, "the connection cap must be positive")
        self.idleTimeout = idleTimeout
        self.maxConnectionsPerListener = maxConnectionsPerListener
        self.socketGroup = socketGroup
    }
}

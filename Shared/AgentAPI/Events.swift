/// One entry of the agent's event ring, as `GET /v1/events` returns it.
public struct AgentEvent: Codable, Sendable, Equatable {
    /// Increases by one for every event the agent records; never reused while the agent runs.
    public var cursor: Int
    /// When it happened, in seconds since 1970.
    public var time: Double
    /// What happened; one of the ``AgentEventKind`` spellings.
    public var kind: String
    /// A sentence for people.
    public var message: String
    /// Details such as `unit`, `job_id` or `drift_ms`.
    public var metadata: [String: String]

    /// Creates an event.
    public init(cursor: Int, time: Double, kind: String, message: String, metadata: [String: String] = [:]) {
        self.cursor = cursor
        self.time = time
        self.kind = kind
        self.message = message
        self.metadata = metadata
    }
}

/// The spellings of ``AgentEvent/kind``.
public enum AgentEventKind {
    /// The agent process started.
    public static let agentStarted = "agent_started"
    /// A monitored unit became `active`.
    public static let unitStarted = "unit_started"
    /// A monitored unit left `active`.
    public static let unitStopped = "unit_stopped"
    /// An exec job reached a final state.
    public static let jobFinished = "job_finished"
    /// `POST /v1/time` set the guest's clock.
    public static let timeSet = "time_set"
    /// Filesystems were frozen.
    public static let fsFrozen = "fs_frozen"
    /// Filesystems were thawed, by request or by the deadline.
    public static let fsThawed = "fs_thawed"
    /// `POST /v1/soft-reboot` restarted units.
    public static let softReboot = "soft_reboot"
    /// The configuration file was read again (`POST /v1/config/reload` or SIGHUP).
    public static let configReloaded = "config_reloaded"
}

/// Body of `GET /v1/events?after=CURSOR&limit=N`.
public struct EventsResponse: Codable, Sendable, Equatable {
    /// Events with a cursor greater than `after`, oldest first.
    public var events: [AgentEvent]
    /// The cursor to pass as `after` next time (the last returned cursor, or `after` when none).
    public var nextCursor: Int

    /// Creates an answer.
    public init(events: [AgentEvent], nextCursor: Int) {
        self.events = events
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case events
        case nextCursor = "next_cursor"
    }
}

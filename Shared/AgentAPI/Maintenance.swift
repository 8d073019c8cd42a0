/// Body of `POST /v1/time`: the host's clock.
public struct TimeSyncRequest: Codable, Sendable, Equatable {
    /// The host's `CLOCK_REALTIME` in nanoseconds since 1970.
    public var unixNanoseconds: Int

    /// Creates a request.
    public init(unixNanoseconds: Int) {
        self.unixNanoseconds = unixNanoseconds
    }

    enum CodingKeys: String, CodingKey {
        case unixNanoseconds = "unix_ns"
    }
}

/// Answer of `POST /v1/time`.
public struct TimeSyncResponse: Codable, Sendable, Equatable {
    /// Guest clock minus the given time, in milliseconds, measured before any correction.
    public var driftMilliseconds: Double
    /// Whether the guest's clock was set (only when the drift exceeded 100 ms).
    public var corrected: Bool

    /// Creates an answer.
    public init(driftMilliseconds: Double, corrected: Bool) {
        self.driftMilliseconds = driftMilliseconds
        self.corrected = corrected
    }

    enum CodingKeys: String, CodingKey {
        case driftMilliseconds = "drift_ms"
        case corrected
    }
}

/// Body of `POST /v1/fs/freeze`.
public struct FreezeRequest: Codable, Sendable, Equatable {
    /// Seconds after which the agent thaws on its own, 1 to 60.
    public var timeoutSeconds: Int

    /// Creates a request.
    public init(timeoutSeconds: Int) {
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case timeoutSeconds = "timeout_s"
    }
}

/// Answer of `POST /v1/fs/freeze`.
public struct FreezeResponse: Codable, Sendable, Equatable {
    /// The mount points now frozen, in freeze order.
    public var frozen: [String]
    /// When the agent thaws them unless thawed before, in seconds since 1970.
    public var thawDeadline: Double

    /// Creates an answer.
    public init(frozen: [String], thawDeadline: Double) {
        self.frozen = frozen
        self.thawDeadline = thawDeadline
    }

    enum CodingKeys: String, CodingKey {
        case frozen
        case thawDeadline = "thaw_deadline"
    }
}

/// Answer of `POST /v1/fs/thaw`.
public struct ThawResponse: Codable, Sendable, Equatable {
    /// The mount points thawed; empty when nothing was frozen.
    public var thawed: [String]

    /// Creates an answer.
    public init(thawed: [String]) {
        self.thawed = thawed
    }
}

/// Body of `POST /v1/soft-reboot`.
public struct SoftRebootRequest: Codable, Sendable, Equatable {
    /// Units to restart; `nil` means every monitored unit.
    public var units: [String]?

    /// Creates a request.
    public init(units: [String]? = nil) {
        self.units = units
    }
}

/// Answer of `POST /v1/soft-reboot`.
public struct SoftRebootResponse: Codable, Sendable, Equatable {
    /// What happened to one unit.
    public struct Unit: Codable, Sendable, Equatable {
        /// The unit's name.
        public var name: String
        /// Its `ActiveState` after the restart, or `unknown`.
        public var activeState: String
        /// Whether it came back `active`.
        public var active: Bool
        /// Why the restart failed, when it did.
        public var error: String?

        /// Creates a unit result.
        public init(name: String, activeState: String, active: Bool, error: String? = nil) {
            self.name = name
            self.activeState = activeState
            self.active = active
            self.error = error
        }

        enum CodingKeys: String, CodingKey {
            case name, active, error
            case activeState = "active_state"
        }
    }

    /// One result per requested unit, in request order.
    public var units: [Unit]

    /// Creates an answer.
    public init(units: [Unit]) {
        self.units = units
    }
}

/// Body of the answer to `POST /v1/config/reload`: what the agent read again from its configuration file.
public struct ConfigReloadResponse: Codable, Sendable, Equatable {
    /// The keys whose new values are in force now (`monitored_units`, `log_files`, `journal`,
    /// `monitor_interval_seconds`).
    public var changed: [String]
    /// The keys whose new values wait for the next start of the agent (listeners, token, paths); the old values
    /// stay in force.
    public var restartRequired: [String]

    /// Creates an answer.
    public init(changed: [String], restartRequired: [String]) {
        self.changed = changed
        self.restartRequired = restartRequired
    }

    enum CodingKeys: String, CodingKey {
        case changed
        case restartRequired = "restart_required"
    }
}

/// Body of `GET /v1/health/live`.
public struct LiveResponse: Codable, Sendable, Equatable {
    /// Always `live` when the agent answers.
    public var status: String

    /// Creates a liveness answer.
    public init(status: String = "live") {
        self.status = status
    }
}

/// Body of `GET /v1/health/ready` (200 when ``ready``, 503 otherwise).
public struct ReadyResponse: Codable, Sendable, Equatable {
    /// One readiness check and whether it passed.
    public struct Check: Codable, Sendable, Equatable {
        /// The check's name, such as `config_loaded` or `monitor_ticked`.
        public var name: String
        /// Whether it passed.
        public var ok: Bool
        /// Why it failed, when it did.
        public var detail: String?

        /// Creates a check result.
        public init(name: String, ok: Bool, detail: String? = nil) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    /// `ready` or `not_ready`.
    public var status: String
    /// Every check, passing or not.
    public var checks: [Check]

    /// Whether every check passed.
    public var ready: Bool { checks.allSatisfy(\.ok) }

    /// Creates a readiness answer from its checks.
    public init(checks: [Check]) {
        self.checks = checks
        self.status = checks.allSatisfy(\.ok) ? "ready" : "not_ready"
    }
}

/// Body of `GET /v1/status`.
public struct StatusResponse: Codable, Sendable, Equatable {
    /// The Somnus release of the agent.
    public var agentVersion: String
    /// The wire protocol version the agent speaks.
    public var protocolVersion: Int
    /// Hex sha256 of the agent's own executable.
    public var binarySHA256: String
    /// Seconds since the agent started.
    public var uptimeSeconds: Double
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`).
    public var bootID: String
    /// The guest's host name.
    public var hostname: String
    /// Names of the features this agent has enabled, such as `exec` or `memory`.
    public var features: [String]

    /// Creates a status answer.
    public init(
        agentVersion: String,
        protocolVersion: Int,
        binarySHA256: String,
        uptimeSeconds: Double,
        bootID: String,
        hostname: String,
        features: [String]
    ) {
        self.agentVersion = agentVersion
        self.protocolVersion = protocolVersion
        self.binarySHA256 = binarySHA256
        self.uptimeSeconds = uptimeSeconds
        self.bootID = bootID
        self.hostname = hostname
        self.features = features
    }

    enum CodingKeys: String, CodingKey {
        case agentVersion = "agent_version"
        case protocolVersion = "protocol_version"
        case binarySHA256 = "binary_sha256"
        case uptimeSeconds = "uptime_seconds"
        case bootID = "boot_id"
        case hostname
        case features
    }
}

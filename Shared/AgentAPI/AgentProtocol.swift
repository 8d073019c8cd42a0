/// Version facts both sides agree on.
///
/// The host refuses to talk to an agent whose ``protocolVersion`` differs from its own
/// (the poller reports `version_mismatch`) and redeploys an agent whose ``somnusVersion``
/// or binary checksum differs from the one it ships.
public enum AgentProtocol {
    /// The wire protocol version. Bumped on every incompatible change of a route or a body.
    public static let protocolVersion = 1
    /// The Somnus release both programs were built from.
    public static let somnusVersion = "0.1.0"
    /// The TCP port the agent listens on by default.
    public static let defaultPort = 9901
}

/// The files of the agent's TLS listener, in its `tls_dir`: the host writes them at deploy time.
public enum AgentTLSFiles {
    /// The guest's default `tls_dir`.
    public static let defaultDirectory = "/etc/somnus/tls"
    /// The agent's certificate (PEM), whose public key the host pins.
    public static let certificate = "agent.crt"
    /// The agent's private key (PEM, 0600).
    public static let privateKey = "agent.key"
    /// The host's client certificate (PEM): the one client the agent's TCP listener accepts.
    public static let clientCertificate = "host.crt"
}

/// Route paths of the agent's HTTP API, shared so neither side spells them by hand.
public enum AgentRoute {
    /// `GET`: liveness, the only route that needs no token.
    public static let healthLive = "/v1/health/live"
    /// `GET`: readiness; 200 when ready, 503 with the failing checks otherwise.
    public static let healthReady = "/v1/health/ready"
    /// `GET`: versions, identity and features.
    public static let status = "/v1/status"
    /// `GET`: resource usage and monitored units.
    public static let stats = "/v1/stats"
    /// `POST`: restart monitored units through systemd.
    public static let softReboot = "/v1/soft-reboot"
    /// `POST`: read the configuration file again.
    public static let configReload = "/v1/config/reload"
    /// `POST`: start an exec job; `GET /v1/exec/{id}`, `GET /v1/exec/{id}/output`, `DELETE /v1/exec/{id}`.
    public static let exec = "/v1/exec"
    /// `GET`: recent agent events after a cursor.
    public static let events = "/v1/events"
    /// `POST`: freeze writable filesystems with a deadline.
    public static let fsFreeze = "/v1/fs/freeze"
    /// `POST`: thaw frozen filesystems.
    public static let fsThaw = "/v1/fs/thaw"
    /// `POST`: push the host's clock.
    public static let time = "/v1/time"
    /// `GET`: Prometheus text metrics.
    public static let metrics = "/metrics"
    /// `GET`: the OpenAPI document of this API.
    public static let openAPI = "/v1/openapi.json"
}

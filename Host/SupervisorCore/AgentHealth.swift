public import Foundation

/// What the poller concluded about one VM's agent.
public struct AgentHealth: Codable, Sendable, Equatable {
    /// The health states a VM moves through.
    public enum State: String, Codable, Sendable, CaseIterable {
        /// The VM runs but its agent has not answered yet since it started.
        case starting
        /// Live and ready.
        case healthy
        /// Live but not ready; ``AgentHealth/detail`` lists the failing checks.
        case degraded
        /// Not reachable; ``AgentHealth/reason`` says why.
        case unreachable
    }

    /// Why an agent is unreachable.
    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The connection was refused (nothing listens yet, or the agent is down).
        case refused
        /// No answer within the per-request deadline.
        case timeout
        /// The agent rejected the VM's token.
        case authRejected = "auth_rejected"
        /// The agent speaks another protocol version.
        case versionMismatch = "version_mismatch"
        /// The VM is not running, so there is nothing to poll.
        case vmNotRunning = "vm_not_running"
        /// The VM has no known address yet.
        case noAddress = "no_address"
        /// Any other transport or protocol failure; see the detail.
        case error
    }

    /// The VM polled.
    public var vm: String
    /// The state.
    public var state: State
    /// Why it is unreachable, when it is.
    public var reason: Reason?
    /// Failing checks or the error, for people.
    public var detail: String?
    /// The agent version it reported, when it answered.
    public var agentVersion: String?
    /// When this was observed.
    public var observedAt: Date

    enum CodingKeys: String, CodingKey {
        case vm, state, reason, detail
        case agentVersion = "agent_version"
        case observedAt = "observed_at"
    }

    /// Creates an observation.
    public init(
        vm: String, state: State, reason: Reason? = nil, detail: String? = nil, agentVersion: String? = nil,
        observedAt: Date = Date()
    ) {
        self.vm = vm
        self.state = state
        self.reason = reason
        self.detail = detail
        self.agentVersion = agentVersion
        self.observedAt = observedAt
    }

    /// The state with its reason, as shown in tables: `healthy`, `unreachable (refused)`.
    public var summary: String {
        if let reason { return "\(state.rawValue) (\(reason.rawValue))" }
        return state.rawValue
    }
}

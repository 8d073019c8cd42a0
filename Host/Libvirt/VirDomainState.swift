/// The run state of a domain (`virDomainState`).
public enum VirDomainState: Sendable, Hashable, CustomStringConvertible {
    /// No state (`VIR_DOMAIN_NOSTATE`).
    case noState
    /// Running (`VIR_DOMAIN_RUNNING`).
    case running
    /// Blocked on a resource (`VIR_DOMAIN_BLOCKED`).
    case blocked
    /// Paused by the user (`VIR_DOMAIN_PAUSED`).
    case paused
    /// Being shut down (`VIR_DOMAIN_SHUTDOWN`).
    case shuttingDown
    /// Shut off (`VIR_DOMAIN_SHUTOFF`).
    case shutOff
    /// Crashed (`VIR_DOMAIN_CRASHED`).
    case crashed
    /// Suspended by guest power management (`VIR_DOMAIN_PMSUSPENDED`).
    case pmSuspended
    /// A state this wrapper does not know.
    case unknown(Int)

    /// Maps a raw `virDomainState` value.
    /// - Parameter rawValue: The C enumerator's value.
    public init(rawValue: Int) {
        switch rawValue {
        case 0: self = .noState
        case 1: self = .running
        case 2: self = .blocked
        case 3: self = .paused
        case 4: self = .shuttingDown
        case 5: self = .shutOff
        case 6: self = .crashed
        case 7: self = .pmSuspended
        default: self = .unknown(rawValue)
        }
    }

    /// The raw `virDomainState` value.
    public var rawValue: Int {
        switch self {
        case .noState: 0
        case .running: 1
        case .blocked: 2
        case .paused: 3
        case .shuttingDown: 4
        case .shutOff: 5
        case .crashed: 6
        case .pmSuspended: 7
        case .unknown(let value): value
        }
    }

    /// A lower-case word such as `running` or `shut off`.
    public var description: String {
        switch self {
        case .noState: "no state"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shuttingDown: "shutting down"
        case .shutOff: "shut off"
        case .crashed: "crashed"
        case .pmSuspended: "pm suspended"
        case .unknown(let value): "unknown state \(value)"
        }
    }
}

/// A snapshot of a domain's resource use (`virDomainInfo`).
public struct VirDomainInfo: Sendable, Hashable {
    /// The run state.
    public var state: VirDomainState
    /// The maximum memory the domain may use, in KiB.
    public var maxMemoryKiB: Int
    /// The memory currently assigned, in KiB.
    public var memoryKiB: Int
    /// The number of virtual CPUs.
    public var vcpuCount: Int
    /// The CPU time used so far.
    public var cpuTime: Duration

    /// Creates an info value.
    /// - Parameters:
    ///   - state: The run state.
    ///   - maxMemoryKiB: The maximum memory in KiB.
    ///   - memoryKiB: The current memory in KiB.
    ///   - vcpuCount: The number of virtual CPUs.
    ///   - cpuTime: The CPU time used.
    public init(state: VirDomainState, maxMemoryKiB: Int, memoryKiB: Int, vcpuCount: Int, cpuTime: Duration) {
        self.state = state
        self.maxMemoryKiB = maxMemoryKiB
        self.memoryKiB = memoryKiB
        self.vcpuCount = vcpuCount
        self.cpuTime = cpuTime
    }
}

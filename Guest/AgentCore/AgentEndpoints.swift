/// Where a running agent can be reached; handed to ``AgentServer/run(onReady:)`` once both listeners are bound.
public struct AgentEndpoints: Sendable, Equatable {
    /// The bound TCP host.
    public var host: String
    /// The bound TCP port (the kernel's choice when the configuration said `0`).
    public var port: Int
    /// The unix socket's path.
    public var socketPath: String

    /// Creates endpoints.
    public init(host: String, port: Int, socketPath: String) {
        self.host = host
        self.port = port
        self.socketPath = socketPath
    }
}

/// One listener reporting that it is bound.
enum AgentEndpointPart: Sendable {
    case tcp(Int)
    case unixSocket
}

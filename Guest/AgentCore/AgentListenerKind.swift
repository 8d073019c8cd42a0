/// Which listener a router serves.
enum AgentListenerKind: Sendable {
    /// The TCP listener for the host: bearer token required.
    case tcp
    /// The unix socket for clients inside the VM: no token.
    case unixSocket
}

/// Who sent a request.
package enum AgentCaller: Sendable, Equatable {
    /// Not identified (a route reached without the listener's identifying middleware): allowed nothing privileged.
    case unidentified
    /// The host over TCP, authenticated by the bearer token.
    case host
    /// A process inside the VM on the unix socket.
    case local(AgentPeerCredentials)

    /// Whether the caller may freeze, thaw, set the clock, restart units, install packs and run commands as any
    /// user: the host, or a root process on the unix socket.
    package var isPrivileged: Bool {
        switch self {
        case .host: true
        case .local(let peer): peer.uid == 0
        case .unidentified: false
        }
    }

    /// The unprivileged local peer, or `nil` for a privileged caller.
    package var unprivilegedPeer: AgentPeerCredentials? {
        if case .local(let peer) = self, peer.uid != 0 { return peer }
        return nil
    }

    /// Refuses an unprivileged caller.
    /// - Parameter action: What was refused, such as `freezing filesystems`.
    /// - Throws: ``AgentError`` `forbidden` (HTTP 403) naming the action and the caller's uid.
    package func requirePrivileged(_ action: String) throws(AgentError) {
        guard !isPrivileged else { return }
        switch self {
        case .local(let peer):
            throw AgentError(.forbidden, "\(action) is for root only; the caller runs as uid \(peer.uid)")
        default:
            throw AgentError(.forbidden, "\(action) is for root only; the caller is not identified")
        }
    }
}

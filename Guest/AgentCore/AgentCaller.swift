import Hummingbird
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The credentials of the process at the other end of a unix-socket connection, as the kernel reports them
/// (`SO_PEERCRED`) at the time the process connected.
struct AgentPeerCredentials: Sendable, Equatable {
    /// The peer's process id.
    var pid: Int32
    /// The peer's effective user id.
    var uid: UInt32
    /// The peer's effective group id.
    var gid: UInt32
}

/// Who sent a request.
enum AgentCaller: Sendable, Equatable {
    /// Not identified (a route reached without the listener's identifying middleware): allowed nothing privileged.
    case unidentified
    /// The host over TCP, authenticated by the bearer token.
    case host
    /// A process inside the VM on the unix socket.
    case local(AgentPeerCredentials)

    /// Whether the caller may freeze, thaw, set the clock, restart units, install packs and run commands as any
    /// user: the host, or a root process on the unix socket.
    var isPrivileged: Bool {
        switch self {
        case .host: true
        case .local(let peer): peer.uid == 0
        case .unidentified: false
        }
    }

    /// The unprivileged local peer, or `nil` for a privileged caller.
    var unprivilegedPeer: AgentPeerCredentials? {
        if case .local(let peer) = self, peer.uid != 0 { return peer }
        return nil
    }

    /// Refuses an unprivileged caller.
    /// - Parameter action: What was refused, such as `freezing filesystems`.
    /// - Throws: ``AgentError`` `forbidden` (HTTP 403) naming the action and the caller's uid.
    func requirePrivileged(_ action: String) throws(AgentError) {
        guard !isPrivileged else { return }
        switch self {
        case .local(let peer):
            throw AgentError(.forbidden, "\(action) is for root only; the caller runs as uid \(peer.uid)")
        default:
            throw AgentError(.forbidden, "\(action) is for root only; the caller is not identified")
        }
    }
}

/// Marks every request of the TCP listener as the host's (it runs after the bearer-token check).
struct HostCallerMiddleware: RouterMiddleware {
    func handle(
        _ request: Request, context: AgentRequestContext,
        next: (Request, AgentRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.caller = .host
        return try await next(request, context)
    }
}

/// Reads the unix-socket peer's credentials (`SO_PEERCRED`) and records them as the request's caller; a
/// connection whose credentials cannot be read is refused with 403.
struct PeerCredentialsMiddleware: RouterMiddleware {
    func handle(
        _ request: Request, context: AgentRequestContext,
        next: (Request, AgentRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.caller = .local(try await Self.credentials(of: context.channel))
        return try await next(request, context)
    }

    /// The peer credentials of a unix-socket channel.
    /// - Throws: ``AgentError`` `forbidden` when the channel has no socket options or the kernel refuses.
    static func credentials(of channel: any Channel) async throws(AgentError) -> AgentPeerCredentials {
        guard let provider = channel as? any SocketOptionProvider else {
            throw AgentError(.forbidden, "the connection's peer credentials cannot be read")
        }
        do {
            let raw: PeerCredentialsLayout = try await provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(Self.soPeerCred)
            ).get()
            return AgentPeerCredentials(pid: raw.pid, uid: raw.uid, gid: raw.gid)
        } catch {
            throw AgentError(.forbidden, "the connection's peer credentials cannot be read", cause: error)
        }
    }

    /// `SO_PEERCRED` of `<asm-generic/socket.h>` (the same on x86-64 and arm64).
    static let soPeerCred: Int32 = 17
}

/// The layout of `struct ucred` (`pid_t`, `uid_t`, `gid_t`), read as the value of `SO_PEERCRED`.
struct PeerCredentialsLayout: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

import AgentBasics
import Hummingbird
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

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

import AgentAPI
import AgentBasics
import AgentSystem
import Hummingbird

/// Answers 409 `conflict` to every request that may write to disk through the agent (any method but `GET` on
/// the memory and pack routes) while filesystems are frozen or freezing: a write to a frozen filesystem would
/// block the handler's thread until the thaw.
struct FrozenWritesMiddleware: RouterMiddleware {
    /// The route prefixes whose writing requests are held.
    static let writingPrefixes = [MemoryHandler.base, AgentRoute.packs]

    let freeze: FreezeState

    func handle(
        _ request: Request, context: AgentRequestContext,
        next: (Request, AgentRequestContext) async throws -> Response
    ) async throws -> Response {
        if request.method != .get, freeze.holdsWrites,
            Self.writingPrefixes.contains(where: { request.uri.path.hasPrefix($0) })
        {
            throw AgentError(
                .conflict,
                "filesystems are frozen: \(request.method) \(request.uri.path) writes to disk; retry after the thaw")
        }
        return try await next(request, context)
    }
}

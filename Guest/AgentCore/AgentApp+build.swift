import AgentAPI
import AgentAPIGenerated
import Hummingbird
import OpenAPIRuntime

/// Which listener a router serves.
enum AgentListenerKind: Sendable {
    /// The TCP listener for the host: bearer token required.
    case tcp
    /// The unix socket for clients inside the VM: no token.
    case unixSocket
}

/// Builds the router of one listener: JSON errors outermost, then who the caller is (the token check and
/// ``AgentCaller/host`` on TCP, the peer's credentials on the unix socket), then the routes: the generated server's
/// operations, answered by ``AgentAPIHandler``, and the metrics and document of ``MetricsController``.
func buildRouter(state: AgentState, listener: AgentListenerKind) -> Router<AgentRequestContext> {
    let router = Router(context: AgentRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: state.metrics))
    router.add(middleware: APIErrorMiddleware())
    if listener == .tcp {
        router.add(middleware: BearerTokenMiddleware(state: state))
        router.add(middleware: HostCallerMiddleware())
    } else {
        router.add(middleware: PeerCredentialsMiddleware())
    }
    router.add(middleware: FrozenWritesMiddleware(freeze: state.freeze))
    router.add(middleware: CallerScopeMiddleware())
    MetricsController(state: state).addRoutes(to: router)
    do {
        try AgentAPIHandler(state: state).registerHandlers(
            on: AgentRouterTransport(router: router),
            configuration: Configuration(jsonEncodingOptions: [.sortedKeys, .withoutEscapingSlashes]))
    } catch {
        preconditionFailure("the generated server's paths are fixed and register on any router: \(error)")
    }
    return router
}

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

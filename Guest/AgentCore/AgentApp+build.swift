import AgentAPI
import AgentAPIGenerated
import AgentBasics
import AgentSystem
import Hummingbird
import OpenAPIRuntime

/// Builds the router of one listener: JSON errors outermost, then who the caller is (the token check and
/// ``AgentCaller/host`` on TCP, the peer's credentials on the unix socket), then the routes: the generated server's
/// operations, answered by ``AgentAPIHandler``, and the metrics and document of ``MetricsController``.
func buildRouter(state: AgentState, listener: AgentListenerKind) -> Router<AgentRequestContext> {
    let router = Router(context: AgentRequestContext.self)
    router.add(middleware: AgentMetricsMiddleware(metrics: state.metrics))
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

import AgentAPI
import Hummingbird

/// Which listener a router serves.
enum AgentListenerKind: Sendable {
    /// The TCP listener for the host: bearer token required.
    case tcp
    /// The unix socket for clients inside the VM: no token.
    case unixSocket
}

/// Builds the router of one listener: JSON errors outermost, then the token check (TCP only), then the routes.
func buildRouter(state: AgentState, listener: AgentListenerKind) -> Router<AgentRequestContext> {
    let router = Router(context: AgentRequestContext.self)
    router.add(middleware: MetricsMiddleware(metrics: state.metrics))
    router.add(middleware: APIErrorMiddleware())
    if listener == .tcp {
        router.add(middleware: BearerTokenMiddleware(state: state))
    }
    HealthController(state: state).addRoutes(to: router)
    ExecController(state: state).addRoutes(to: router)
    MaintenanceController(state: state).addRoutes(to: router)
    MetricsController(state: state).addRoutes(to: router)
    PacksController(state: state).addRoutes(to: router)
    ErrorsController(state: state).addRoutes(to: router)
    MemoryController(state: state).addRoutes(to: router)
    return router
}

import AgentBasics
import Hummingbird

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

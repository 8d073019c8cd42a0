import AgentAPI
import AgentBasics
import Hummingbird

/// Requires `Authorization: Bearer <token>` on every route except `GET /v1/health/live`.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: AgentState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.method == .get && request.uri.path == AgentRoute.healthLive {
            return try await next(request, context)
        }
        guard state.token != nil else {
            throw AgentError(.unauthorized, "the agent has no usable token: \(state.tokenProblem ?? "unknown")")
        }
        guard let header = request.headers[.authorization] else {
            throw AgentError(.unauthorized, "missing Authorization: Bearer header")
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), state.accepts(token: header.dropFirst(prefix.count)) else {
            throw AgentError(.unauthorized, "wrong bearer token")
        }
        return try await next(request, context)
    }
}

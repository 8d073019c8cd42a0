import Hummingbird

/// Counts every answer by its route pattern (`unmatched` when no route matched) and status.
struct AgentMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: AgentMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            let response = try await next(request, context)
            metrics.count(method: request.method.rawValue, route: Self.route(context), status: response.status.code)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.count(method: request.method.rawValue, route: Self.route(context), status: status)
            throw error
        }
    }

    /// The matched route pattern, or `unmatched` (Hummingbird names a miss `NotFound`).
    private static func route(_ context: Context) -> String {
        guard let path = context.endpointPath, path.hasPrefix("/") else { return "unmatched" }
        return path
    }
}

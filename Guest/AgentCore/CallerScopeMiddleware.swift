import AgentBasics
import Hummingbird

/// The caller of the request being handled, for the handlers of the generated API, which see only their
/// operation's input.
enum AgentRequestScope {
    /// Set by ``CallerScopeMiddleware`` while the routes handle a request; ``AgentCaller/unidentified`` outside.
    @TaskLocal static var caller: AgentCaller = .unidentified
}

/// Makes the context's caller ``AgentRequestScope/caller`` while the routes below handle the request.
struct CallerScopeMiddleware: RouterMiddleware {
    func handle(
        _ request: Request, context: AgentRequestContext,
        next: (Request, AgentRequestContext) async throws -> Response
    ) async throws -> Response {
        try await AgentRequestScope.$caller.withValue(context.caller) { try await next(request, context) }
    }
}

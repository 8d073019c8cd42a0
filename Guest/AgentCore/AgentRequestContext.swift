import Hummingbird
import NIOCore

/// The request context of both listeners: Hummingbird's core storage, with request bodies limited to 1 MiB, and
/// who sent the request.
struct AgentRequestContext: RequestContext {
    /// The largest request body accepted (1 MiB); larger ones are answered with 413.
    static let maxBodySize = 1 << 20

    /// Hummingbird's per-request storage.
    var coreContext: CoreRequestContextStorage
    /// The connection the request came on (its socket's peer credentials are read from it).
    let channel: any Channel
    /// Who sent the request; set by the listener's identifying middleware, ``AgentCaller/unidentified`` before.
    var caller: AgentCaller = .unidentified

    /// Creates a context for one request.
    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The largest request body accepted.
    var maxUploadSize: Int { Self.maxBodySize }
}

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

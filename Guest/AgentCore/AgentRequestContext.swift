import AgentBasics
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

import Hummingbird

/// The request context of both listeners: Hummingbird's core storage, with request bodies limited to 1 MiB.
struct AgentRequestContext: RequestContext {
    /// The largest request body accepted (1 MiB); larger ones are answered with 413.
    static let maxBodySize = 1 << 20

    /// Hummingbird's per-request storage.
    var coreContext: CoreRequestContextStorage

    /// Creates a context for one request.
    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
    }

    /// The largest request body accepted.
    var maxUploadSize: Int { Self.maxBodySize }
}

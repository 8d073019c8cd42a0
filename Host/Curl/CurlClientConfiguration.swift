/// Settings of a ``CurlClient`` that apply to all of its requests.
public struct CurlClientConfiguration: Sendable {
    /// The `User-Agent` header sent with every request.
    public var userAgent: String
    /// The most connections open at once across all hosts; further transfers queue inside curl.
    /// Zero means no limit.
    public var maximumTotalConnections: Int
    /// How many idle connections curl keeps for reuse.
    public var maximumCachedConnections: Int
    /// The largest response body accepted; a longer one fails the request with ``CurlError/Code/transport``.
    public var maximumResponseBodySize: Int

    /// Creates a configuration.
    /// - Parameters:
    ///   - userAgent: The `User-Agent` header.
    ///   - maximumTotalConnections: The connection limit; 0 for none.
    ///   - maximumCachedConnections: The idle connection cache size.
    ///   - maximumResponseBodySize: The response body limit in bytes; 16 MiB by default.
    public init(
        userAgent: String = "somnus",
        maximumTotalConnections: Int = 0,
        maximumCachedConnections: Int = 200,
        maximumResponseBodySize: Int = 16 << 20
    ) {
        self.userAgent = userAgent
        self.maximumTotalConnections = maximumTotalConnections
        self.maximumCachedConnections = maximumCachedConnections
        self.maximumResponseBodySize = maximumResponseBodySize
    }
}

/// One HTTP request for ``CurlClient``.
///
/// Deadlines are per request. Both are rounded to whole milliseconds and are at least one millisecond, because
/// curl reads zero as "no limit".
public struct CurlRequest: Sendable {
    /// The request method.
    public var method: CurlMethod
    /// The absolute URL, such as `http://192.168.122.10:9901/v1/status`. With ``unixSocketPath`` the host part
    /// only fills the `Host` header (use `http://localhost/...`).
    public var url: String
    /// Extra request headers by name. A `Content-Type` given here wins over the JSON default of the helpers.
    public var headers: [String: String]
    /// The request body, or `nil` for none. An empty array sends `Content-Length: 0`.
    public var body: [UInt8]?
    /// A token sent as `Authorization: Bearer <token>`, or `nil` for none.
    public var bearerToken: String?
    /// How long connecting (TCP or unix socket, including name resolution) may take.
    public var connectTimeout: Duration
    /// How long the whole transfer may take, connect included.
    public var timeout: Duration
    /// A unix-domain socket to connect to instead of the URL's host and port, or `nil` for TCP.
    public var unixSocketPath: String?
    /// TLS with a pinned server key for an `https` URL, or `nil` for curl's defaults.
    public var tls: CurlTLS?

    /// Creates a request.
    /// - Parameters:
    ///   - method: The method; `GET` by default.
    ///   - url: The absolute URL.
    ///   - headers: Extra headers by name.
    ///   - body: The body, or `nil` for none.
    ///   - bearerToken: A bearer token for the `Authorization` header, or `nil`.
    ///   - connectTimeout: The connect deadline; 5 seconds by default.
    ///   - timeout: The total deadline; 30 seconds by default.
    ///   - unixSocketPath: A unix-domain socket to use instead of TCP, or `nil`.
    ///   - tls: TLS with a pinned server key, or `nil`.
    public init(
        method: CurlMethod = .get,
        url: String,
        headers: [String: String] = [:],
        body: [UInt8]? = nil,
        bearerToken: String? = nil,
        connectTimeout: Duration = .seconds(5),
        timeout: Duration = .seconds(30),
        unixSocketPath: String? = nil,
        tls: CurlTLS? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.bearerToken = bearerToken
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.unixSocketPath = unixSocketPath
        self.tls = tls
    }
}

/// The one error type of the agent's domain code.
///
/// ``code`` decides the HTTP status and the wire code when the error reaches a client.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable kind of failure. New codes are added as static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The wire spelling, such as `bad_request`.
        public let rawValue: String

        /// Creates a code from its wire spelling.
        public init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        /// The configuration file or a flag is invalid.
        public static let invalidConfiguration = Code("invalid_configuration")
        /// A request's body or parameters are invalid (HTTP 400).
        public static let badRequest = Code("bad_request")
        /// The token is missing or wrong (HTTP 401).
        public static let unauthorized = Code("unauthorized")
        /// The caller may not do this, such as a non-root process on the unix socket freezing filesystems
        /// (HTTP 403).
        public static let forbidden = Code("forbidden")
        /// The route or the resource does not exist (HTTP 404).
        public static let notFound = Code("not_found")
        /// The route exists but not with this method (HTTP 405).
        public static let methodNotAllowed = Code("method_not_allowed")
        /// The request body is larger than 1 MiB (HTTP 413).
        public static let payloadTooLarge = Code("payload_too_large")
        /// The request conflicts with the current state, such as freezing twice (HTTP 409).
        public static let conflict = Code("conflict")
        /// A bounded table is full of live entries (HTTP 429).
        public static let tooManyRequests = Code("too_many_requests")
        /// A file could not be read or written.
        public static let io = Code("io_error")
        /// An external command failed.
        public static let commandFailed = Code("command_failed")
        /// Anything else (HTTP 500).
        public static let `internal` = Code("internal_error")

        /// The wire spelling.
        public var description: String { rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A sentence for people naming the bad value.
    public var message: String
    /// The underlying error, when there is one.
    public var cause: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A sentence for people.
    ///   - cause: The underlying error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `"<code>: <message>"`, followed by the cause when there is one.
    public var description: String {
        if let cause { return "\(code): \(message) (\(cause))" }
        return "\(code): \(message)"
    }
}

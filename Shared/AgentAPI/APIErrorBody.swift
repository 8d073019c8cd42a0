/// The one JSON error body every non-2xx answer of the agent carries:
/// `{"error":{"code":"…","message":"…"}}`.
public struct APIErrorBody: Codable, Sendable, Equatable {
    /// The code and message of the failure.
    public struct Detail: Codable, Sendable, Equatable {
        /// A stable, machine-readable code such as `bad_request` or `unauthorized`.
        public var code: String
        /// A sentence for people.
        public var message: String

        /// Creates a detail.
        public init(code: String, message: String) {
            self.code = code
            self.message = message
        }
    }

    /// The failure.
    public var error: Detail

    /// Creates an error body.
    /// - Parameters:
    ///   - code: A stable, machine-readable code.
    ///   - message: A sentence for people.
    public init(code: String, message: String) {
        self.error = Detail(code: code, message: message)
    }
}

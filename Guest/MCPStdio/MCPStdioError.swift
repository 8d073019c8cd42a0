/// Why the stdio loop stopped before its input ended.
public struct MCPStdioError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure it is.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The code's text.
        public var rawValue: String

        /// A code from its text.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// Reading the input failed.
        public static let read = Code(rawValue: "read_failed")
        /// Writing an answer failed (for example the client closed its end).
        public static let write = Code(rawValue: "write_failed")

        /// The code's text.
        public var description: String { rawValue }
    }

    /// What kind of failure it is.
    public var code: Code
    /// A sentence naming what failed and why (the system's error text included).
    public var message: String

    /// An error.
    /// - Parameters:
    ///   - code: What kind of failure it is.
    ///   - message: A sentence naming what failed and why.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }
}

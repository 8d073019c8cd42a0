/// The one error type of the `Packs` module: a pack file or a set of packs is unusable.
///
/// ``message`` names the file and the field, such as
/// `web_development.json: steps[2].shell.timeout_s must be 1…3600, not 0`.
public struct PackError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable kind of failure. New codes are added as static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// The spelling, such as `invalid_field`.
        public let rawValue: String

        /// Creates a code from its spelling.
        public init(_ rawValue: String) {
            self.rawValue = rawValue
        }

        /// The text is not JSON, or not a JSON object.
        public static let malformed = Code("malformed")
        /// A required field is absent.
        public static let missingField = Code("missing_field")
        /// A field holds a value of the wrong type or out of range.
        public static let invalidField = Code("invalid_field")
        /// An object has a key the format does not define.
        public static let unknownKey = Code("unknown_key")
        /// A pack's `name` differs from its file name, or two files define the same pack.
        public static let nameMismatch = Code("name_mismatch")
        /// A pack name that no pack in the catalog has.
        public static let unknownPack = Code("unknown_pack")
        /// `requires` loops back on itself.
        public static let cycle = Code("dependency_cycle")
        /// The directory or a file could not be read.
        public static let io = Code("io_error")

        /// The spelling.
        public var description: String { rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A sentence for people naming the file and the field.
    public var message: String
    /// The file the problem is in, when there is one (its last path component).
    public var file: String?
    /// The field the problem is in, such as `steps[2].shell.timeout_s`, when there is one.
    public var field: String?
    /// The underlying error, when there is one.
    public var cause: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A sentence for people.
    ///   - file: The file the problem is in.
    ///   - field: The field the problem is in.
    ///   - cause: The underlying error.
    public init(_ code: Code, _ message: String, file: String? = nil, field: String? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.file = file
        self.field = field
        self.cause = cause
    }

    /// `"<code>: <message>"`.
    public var description: String { "\(code): \(message)" }
}

/// A failure of the memory store.
///
/// The agent maps codes to HTTP: `invalidInput` 400, `tooLarge` 413, `notFound` 404, `degraded` and `wrongKey`
/// 503, `storage` 500.
public struct MemoryError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable {
        /// A request field is missing, empty or malformed.
        case invalidInput
        /// The content is larger than ``MemoryStore/maxContentBytes``.
        case tooLarge
        /// No memory with that id in that namespace.
        case notFound
        /// The database file is not a memory database (foreign or corrupt); it was left untouched.
        case degraded
        /// The key file does not open the existing database; nothing was re-created.
        case wrongKey
        /// SQLite or the file system failed.
        case storage
    }

    /// What went wrong.
    public var code: Code
    /// A sentence naming the bad value or the underlying failure.
    public var message: String

    /// Creates an error.
    /// - Parameters:
    ///   - code: What went wrong.
    ///   - message: A sentence for humans.
    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String {
        "\(code.rawValue): \(message)"
    }

    static func invalidInput(_ message: String) -> MemoryError { MemoryError(code: .invalidInput, message: message) }
    static func tooLarge(_ message: String) -> MemoryError { MemoryError(code: .tooLarge, message: message) }
    static func notFound(_ message: String) -> MemoryError { MemoryError(code: .notFound, message: message) }
    static func degraded(_ message: String) -> MemoryError { MemoryError(code: .degraded, message: message) }
    static func wrongKey(_ message: String) -> MemoryError { MemoryError(code: .wrongKey, message: message) }
    static func storage(_ message: String) -> MemoryError { MemoryError(code: .storage, message: message) }
}

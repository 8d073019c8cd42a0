#if canImport(Glibc)
    internal import Glibc
#endif

/// A failure reported by libsystemd: the negative errno a `sd_*` function returned, its `strerror` text and
/// the name of the function.
public struct SystemdError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The positive errno value, such as `2` for `ENOENT`.
    public var errno: Int32
    /// The `strerror` text of ``errno``.
    public var message: String
    /// The libsystemd function that failed, such as `sd_journal_open_directory`.
    public var function: String

    /// Creates an error.
    /// - Parameters:
    ///   - errno: The positive errno value.
    ///   - message: The text for people.
    ///   - function: The libsystemd function that failed.
    public init(errno: Int32, message: String, function: String) {
        self.errno = errno
        self.message = message
        self.function = function
    }

    /// Creates an error from the positive errno value, reading its `strerror` text.
    init(errno: Int32, function: String) {
        self.init(errno: errno, message: String(cString: strerror(errno)), function: function)
    }

    /// `"<function>: <message> (errno <errno>)"`.
    public var description: String { "\(function): \(message) (errno \(errno))" }

    /// Checks a libsystemd return value: negative values are `-errno`.
    /// - Returns: The value when it is not negative.
    @discardableResult
    static func check(_ result: Int32, _ function: String) throws(SystemdError) -> Int32 {
        if result < 0 {
            throw SystemdError(errno: -result, function: function)
        }
        return result
    }
}

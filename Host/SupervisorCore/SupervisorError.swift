/// The one error type of the supervisor's domain layer.
///
/// Modelled on `ContainerizationError`: a growable ``Code``, a sentence for people and the underlying
/// cause. The CLI maps codes to exit statuses: ``Code/invalidArgument`` and ``Code/notFound`` are usage
/// errors (exit 2); everything else is an operation failure (exit 1).
public struct SupervisorError: Error, CustomStringConvertible, Sendable {
    /// A stable category of failure; new codes are added as static members.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The code's name, as printed in `--json` output.
        public let name: String

        /// Creates a code.
        public init(_ name: String) {
            self.name = name
        }

        /// A user-supplied value is invalid.
        public static let invalidArgument = Code("invalid_argument")
        /// A named VM, snapshot, image or profile does not exist.
        public static let notFound = Code("not_found")
        /// The thing to create exists already.
        public static let alreadyExists = Code("already_exists")
        /// libvirt refused or failed an operation.
        public static let libvirt = Code("libvirt")
        /// libvirt cannot be reached.
        public static let libvirtUnavailable = Code("libvirt_unavailable")
        /// An SSH operation failed.
        public static let ssh = Code("ssh")
        /// The agent could not be reached or answered with an error.
        public static let agent = Code("agent")
        /// The inventory database failed.
        public static let inventory = Code("inventory")
        /// A wait ran past its deadline.
        public static let timeout = Code("timeout")
        /// A host command (`qemu-img`, the image builder) failed.
        public static let hostCommand = Code("host_command")
        /// The host lacks the capacity a request needs.
        public static let capacity = Code("capacity")
        /// The operation is not valid in the VM's current state.
        public static let invalidState = Code("invalid_state")

        /// The code's name.
        public var description: String { name }
    }

    /// The category of failure.
    public var code: Code
    /// A sentence for people, naming the thing that failed.
    public var message: String
    /// The underlying error, when there is one.
    public var cause: (any Error)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The category of failure.
    ///   - message: A sentence for people.
    ///   - cause: The underlying error.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// Whether this error is the user's mistake rather than an operation failure.
    public var isUsageError: Bool {
        code == .invalidArgument || code == .notFound || code == .alreadyExists
    }

    /// The message, followed by the cause when there is one.
    public var description: String {
        guard let cause else { return message }
        return "\(message): \(cause)"
    }
}

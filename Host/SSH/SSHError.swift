/// An error raised by the SSH wrapper.
///
/// `kind` says what went wrong in terms a caller can act on; `code` is the libssh2 error code
/// (`LIBSSH2_ERROR_*`, `0` when the failure did not come from libssh2); `message` is the library's
/// own message (read with `libssh2_session_last_error` in the same synchronous function as the failing
/// call) or a message written by this module; `function` names the C function or step that failed.
public struct SSHError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in terms a caller can act on.
    public enum Kind: Sendable, Equatable {
        /// The host name could not be resolved.
        case resolveFailed
        /// Nothing accepted the TCP connection (`ECONNREFUSED`).
        case connectionRefused
        /// The TCP connection or the SSH handshake did not complete before the connect deadline.
        case connectTimeout
        /// The TCP connection failed for another reason; `errno` is the system error number.
        case connectFailed(errno: Int32)
        /// The SSH handshake (banner, key exchange) failed.
        case handshakeFailed
        /// The server's host key is not in the known-hosts file and the policy is `strict`.
        case hostKeyUnknown(actual: String)
        /// The server's host key differs from the one recorded in the known-hosts file.
        /// Both values are OpenSSH-style fingerprints (`SHA256:` followed by unpadded base64).
        case hostKeyMismatch(expected: String, actual: String)
        /// The known-hosts file could not be read, locked or written.
        case knownHostsFile
        /// The server rejected the user name and key.
        case authenticationFailed
        /// The private key file could not be read or parsed.
        case privateKey
        /// An operation on an established session did not finish before its deadline.
        case timeout
        /// Opening a channel or starting a command failed.
        case channel
        /// A local file could not be read or written; `errno` is the system error number.
        case localFile(errno: Int32)
        /// Generating a key pair with `ssh-keygen` failed.
        case keyGeneration
        /// A public key could not be parsed.
        case invalidPublicKey
        /// The session is closed.
        case sessionClosed
        /// Any other libssh2 failure.
        case other
    }

    /// What went wrong.
    public let kind: Kind
    /// The libssh2 error code (`LIBSSH2_ERROR_*`), or `0` if the failure did not come from libssh2.
    public let code: Int
    /// A human-readable message; libssh2's own message where there is one.
    public let message: String
    /// The C function or step that failed, for example `libssh2_session_handshake`.
    public let function: String

    /// Creates an error.
    /// - Parameters:
    ///   - kind: What went wrong.
    ///   - code: The libssh2 error code, or `0`.
    ///   - message: A human-readable message.
    ///   - function: The C function or step that failed.
    public init(kind: Kind, code: Int = 0, message: String, function: String) {
        self.kind = kind
        self.code = code
        self.message = message
        self.function = function
    }

    /// A one-line description: function, code and message.
    public var description: String {
        code == 0 ? "\(function): \(message)" : "\(function) failed (\(code)): \(message)"
    }
}

internal import CSSH2
import Foundation
import Glibc

/// An authenticated SSH connection: owns the TCP socket and the libssh2 session.
///
/// Create one with ``connect(_:)``; it verifies the host key against the caller's known-hosts file
/// and logs in with a private key. Then run commands (``run(_:timeout:)``), upload files
/// (``upload(_:to:mode:)``) and read small files (``readFile(_:maxBytes:)``). Call ``close()`` when
/// done; `deinit` closes too.
///
/// Every method is blocking and has an `async` twin of the same name that runs the blocking work on a
/// dedicated thread, so async callers never block the cooperative pool.
///
/// Safety of `@unchecked Sendable`: the libssh2 session and the socket are touched only while `lock`
/// is held, so at most one thread uses them at a time, which is what libssh2 requires of a session;
/// all other stored properties are immutable.
public final class SSHSession: @unchecked Sendable {
    /// The configuration this session was opened with.
    public let configuration: SSHSessionConfiguration
    /// The server's host key fingerprint (`SHA256:…`), as verified at connect time.
    public let hostKeyFingerprint: String

    private let lock = NSLock()
    private var handle: OpaquePointer?
    private let socket: Int32

    private init(configuration: SSHSessionConfiguration, handle: OpaquePointer, socket: Int32, fingerprint: String) {
        self.configuration = configuration
        self.handle = handle
        self.socket = socket
        self.hostKeyFingerprint = fingerprint
    }

    deinit {
        close()
    }

    /// Connects, verifies the host key and authenticates, all within `configuration.connectTimeout`.
    /// - Parameter configuration: Where to connect, as whom, and how to verify the server.
    /// - Returns: An authenticated session.
    /// - Throws: `SSHError` with kind `.resolveFailed`, `.connectionRefused`, `.connectTimeout`,
    ///   `.connectFailed`, `.handshakeFailed`, `.hostKeyUnknown`, `.hostKeyMismatch`, `.knownHostsFile`,
    ///   `.privateKey` or `.authenticationFailed`.
    public static func connect(_ configuration: SSHSessionConfiguration) throws(SSHError) -> SSHSession {
        try SSHLibrary.ensureInitialized()
        let deadline = ContinuousClock.now + configuration.connectTimeout
        let socket = try SSHSocket.connect(host: configuration.host, port: configuration.port, deadline: deadline)
        guard let handle = libssh2_session_init_ex(nil, nil, nil, nil) else {
            Glibc.close(socket)
            throw SSHError(kind: .other, message: "cannot allocate a session", function: "libssh2_session_init_ex")
        }
        do throws(SSHError) {
            libssh2_session_set_blocking(handle, 1)
            let algorithms = SSHHostKeyVerifier.preferredAlgorithms(
                path: configuration.knownHosts.path, host: configuration.host, port: configuration.port)
            if libssh2_session_method_pref(handle, LIBSSH2_METHOD_HOSTKEY, algorithms) != 0 {
                throw lastError(handle, kind: .handshakeFailed, function: "libssh2_session_method_pref")
            }
            try setTimeout(handle, until: deadline, target: configuration)
            let handshake = libssh2_session_handshake(handle, socket)
            if handshake != 0 {
                throw lastError(
                    handle, kind: .handshakeFailed, function: "libssh2_session_handshake", duringConnect: true)
            }
            let fingerprint = try SSHHostKeyVerifier.verify(session: handle, configuration: configuration)
            try setTimeout(handle, until: deadline, target: configuration)
            try authenticate(handle, configuration: configuration)
            return SSHSession(configuration: configuration, handle: handle, socket: socket, fingerprint: fingerprint)
        } catch {
            libssh2_session_set_timeout(handle, 1000)
            libssh2_session_disconnect_ex(handle, SSH_DISCONNECT_BY_APPLICATION, "connection setup failed", "")
            shutdown(socket, Int32(SHUT_RDWR))
            libssh2_session_free(handle)
            Glibc.close(socket)
            throw error
        }
    }

    /// Connects on a dedicated thread; see the blocking ``connect(_:)``.
    /// - Parameter configuration: Where to connect, as whom, and how to verify the server.
    /// - Returns: An authenticated session.
    /// - Throws: `SSHError`, as the blocking variant.
    public static func connect(_ configuration: SSHSessionConfiguration) async throws(SSHError) -> SSHSession {
        try await offload { () throws(SSHError) -> SSHSession in try connect(configuration) }
    }

    /// Disconnects and releases the session and socket. Safe to call more than once.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard let handle else { return }
        libssh2_session_set_blocking(handle, 1)
        libssh2_session_set_timeout(handle, 1000)
        libssh2_session_disconnect_ex(handle, SSH_DISCONNECT_BY_APPLICATION, "closing", "")
        // Shut the socket down first so that freeing channels abandoned after a timeout does not wait
        // for the server; the descriptor stays open (and cannot be reused) until after the free.
        shutdown(socket, Int32(SHUT_RDWR))
        libssh2_session_free(handle)
        Glibc.close(socket)
        self.handle = nil
    }

    /// Runs `body` with the session handle while holding the lock.
    func withHandle<T>(
        function: String, _ body: (OpaquePointer, Int32) throws(SSHError) -> T
    ) throws(SSHError) -> T {
        lock.lock()
        defer { lock.unlock() }
        guard let handle else {
            throw SSHError(kind: .sessionClosed, message: "the session is closed", function: function)
        }
        return try body(handle, socket)
    }

    /// Runs blocking work on a dedicated thread and returns its result.
    static func offload<T: Sendable>(
        _ body: @escaping @Sendable () throws(SSHError) -> T
    ) async throws(SSHError) -> T {
        let result: Result<T, SSHError> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: Result { () throws(SSHError) -> T in try body() })
            }
            thread.name = "somnus-ssh"
            thread.start()
        }
        return try result.get()
    }

    // MARK: - Error checking

    /// Builds an `SSHError` from libssh2's last error on `session`, read right here, synchronously.
    /// A libssh2 timeout becomes `.connectTimeout` while connecting and `.timeout` afterwards.
    static func lastError(
        _ session: OpaquePointer, kind: SSHError.Kind, function: String, duringConnect: Bool = false
    ) -> SSHError {
        var messagePointer: UnsafeMutablePointer<CChar>?
        var length: Int32 = 0
        let code = libssh2_session_last_error(session, &messagePointer, &length, 0)
        let message =
            messagePointer.map {
                String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(length)), as: UTF8.self)
            } ?? "unknown libssh2 error"
        var resolvedKind = kind
        if code == LIBSSH2_ERROR_TIMEOUT || code == LIBSSH2_ERROR_SOCKET_TIMEOUT {
            resolvedKind = duringConnect ? .connectTimeout : .timeout
        } else if code == LIBSSH2_ERROR_SOCKET_DISCONNECT || code == LIBSSH2_ERROR_SOCKET_RECV
            || code == LIBSSH2_ERROR_SOCKET_SEND
        {
            resolvedKind = duringConnect ? .handshakeFailed : kind
        }
        return SSHError(kind: resolvedKind, code: Int(code), message: message, function: function)
    }

    private static func setTimeout(
        _ session: OpaquePointer, until deadline: ContinuousClock.Instant, target: SSHSessionConfiguration
    ) throws(SSHError) {
        let remaining = (deadline - ContinuousClock.now).wholeMilliseconds
        guard remaining > 0 else {
            throw SSHError(
                kind: .connectTimeout, message: "connecting to \(target.host):\(target.port) took too long",
                function: "SSHSession.connect")
        }
        libssh2_session_set_timeout(session, remaining)
    }

    private static func authenticate(_ session: OpaquePointer, configuration: SSHSessionConfiguration) throws(SSHError)
    {
        let keyPath = configuration.privateKeyPath
        guard access(keyPath, R_OK) == 0 else {
            let reason = String(cString: strerror(errno))
            throw SSHError(
                kind: .privateKey, message: "cannot read private key \(keyPath): \(reason)",
                function: "libssh2_userauth_publickey_fromfile_ex")
        }
        let user = configuration.user
        let result = libssh2_userauth_publickey_fromfile_ex(
            session, user, UInt32(user.utf8.count), nil, keyPath, configuration.passphrase)
        guard result != 0 else { return }
        let function = "libssh2_userauth_publickey_fromfile_ex"
        var error = lastError(session, kind: .other, function: function, duringConnect: true)
        switch result {
        case LIBSSH2_ERROR_AUTHENTICATION_FAILED, LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
            error = SSHError(
                kind: .authenticationFailed, code: error.code,
                message: "\(configuration.user)@\(configuration.host):\(configuration.port) rejected key "
                    + "\(keyPath): \(error.message)",
                function: function)
        case LIBSSH2_ERROR_FILE, LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
            error = SSHError(
                kind: .privateKey, code: error.code, message: "cannot load private key \(keyPath): \(error.message)",
                function: function)
        default:
            break
        }
        throw error
    }
}

public import Foundation
public import SSH

#if canImport(Glibc)
    import Glibc
#endif

/// A real OpenSSH server on 127.0.0.1 with a temporary host key, user key and configuration, for the SSH
/// wrapper's tests and the supervisor's deploy tests. It runs as the current user (root), which logs in as
/// `root`; it stops when released or on ``stop()``.
public final class SSHTestServer {
    /// The temporary directory holding the keys, the configuration and `sshd.log`.
    public let directory: String
    /// The loopback port it listens on.
    public let port: Int
    /// A user key it accepts.
    public let userKey: SSHKeyPair
    /// Its current host key.
    public private(set) var hostKey: SSHKeyPair
    private var pid: pid_t?

    /// Starts `sshd -D -e` on a free loopback port.
    /// - Parameter authorizedKeys: Public key lines it accepts besides ``userKey``'s.
    public init(authorizedKeys: [String] = []) throws {
        directory = try makeTemporaryDirectory(prefix: "somnus-sshd")
        port = try freeLoopbackPort()
        hostKey = try SSHKeyPair.generate(at: directory + "/host_ed25519", comment: "test-host")
        userKey = try SSHKeyPair.generate(at: directory + "/user_ed25519", comment: "test-user")
        let keys = [try userKey.publicKeyLine()] + authorizedKeys
        try (keys.joined(separator: "\n") + "\n").write(
            toFile: directory + "/authorized_keys", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A configuration logging in as root with the server's user key.
    public func configuration(
        knownHosts: String, policy: SSHHostKeyPolicy = .acceptNew, privateKeyPath: String? = nil,
        connectTimeout: Duration = .seconds(10)
    ) -> SSHSessionConfiguration {
        SSHSessionConfiguration(
            host: "127.0.0.1", port: port, user: "root", privateKeyPath: privateKeyPath ?? userKey.privateKeyPath,
            knownHosts: SSHKnownHosts(path: knownHosts, policy: policy), connectTimeout: connectTimeout)
    }

    /// Stops the server, replaces its host key with a new one, and starts it again on the same port: what a
    /// reinstalled guest looks like.
    public func replaceHostKey() throws {
        stop()
        let path = directory + "/host_ed25519"
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.removeItem(atPath: path + ".pub")
        hostKey = try SSHKeyPair.generate(at: path, comment: "test-host-new")
        try start()
    }

    /// Stops sshd and waits for it to exit.
    public func stop() {
        guard let pid else { return }
        kill(pid, SIGTERM)
        _ = SSHChildProcess.waitForExit(pid)
        self.pid = nil
    }

    private func start() throws {
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey.privateKeyPath)
            PidFile none
            UsePAM no
            StrictModes no
            PermitRootLogin prohibit-password
            AuthorizedKeysFile \(directory)/authorized_keys
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            LogLevel ERROR

            """
        try config.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
        let logPath = directory + "/sshd.log"
        let logDescriptor = open(logPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        defer { close(logDescriptor) }
        let pid = try SSHChildProcess.spawn(
            "/usr/sbin/sshd", ["-D", "-e", "-f", directory + "/sshd_config"], standardErrorDescriptor: logDescriptor)
        self.pid = pid
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if canConnect(port: port) { return }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                self.pid = nil
                break
            }
            usleep(20_000)
        }
        stop()
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        throw TestServerError(message: "sshd did not start listening on \(port): \(output)")
    }
}

/// A test server that could not be set up, with what went wrong.
public struct TestServerError: Error, CustomStringConvertible {
    /// What went wrong.
    public let message: String
    /// Creates the error.
    public init(message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Creates a fresh temporary directory.
public func makeTemporaryDirectory(prefix: String) throws -> String {
    let path = NSTemporaryDirectory() + "/\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Binds a loopback socket to port 0 and returns it with its port; the caller closes it.
public func boundLoopbackSocket() throws -> (descriptor: Int32, port: Int) {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw TestServerError(message: "socket failed") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard bound == 0 else {
        close(descriptor)
        throw TestServerError(message: "bind failed")
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}

/// Returns a loopback port that was free a moment ago.
public func freeLoopbackPort() throws -> Int {
    let (descriptor, port) = try boundLoopbackSocket()
    close(descriptor)
    return port
}

/// Starts a non-blocking connection to a loopback port and returns the descriptor (or -1).
public func startConnection(port: Int) -> Int32 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue), 0)
    guard descriptor >= 0 else { return -1 }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return descriptor
}

/// Returns whether a blocking TCP connect to the loopback port succeeds.
public func canConnect(port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let result = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    return result == 0
}

/// Everything needed to open an authenticated SSH session.
public struct SSHSessionConfiguration: Sendable, Equatable {
    /// The host name or IP address of the server.
    public var host: String
    /// The TCP port of the server.
    public var port: Int
    /// The user to log in as.
    public var user: String
    /// The path of the private key used for public-key authentication.
    /// ed25519 in OpenSSH format is recommended (see the module README).
    public var privateKeyPath: String
    /// The passphrase of the private key, if it has one.
    public var passphrase: String?
    /// The known-hosts file and policy used to verify the server.
    public var knownHosts: SSHKnownHosts
    /// The deadline for TCP connect, SSH handshake, host-key check and authentication together.
    public var connectTimeout: Duration

    /// Creates a configuration.
    /// - Parameters:
    ///   - host: The host name or IP address of the server.
    ///   - port: The TCP port of the server.
    ///   - user: The user to log in as.
    ///   - privateKeyPath: The path of the private key.
    ///   - passphrase: The passphrase of the private key, if any.
    ///   - knownHosts: The known-hosts file and policy.
    ///   - connectTimeout: The deadline for connecting and authenticating.
    public init(
        host: String, port: Int = 22, user: String, privateKeyPath: String, passphrase: String? = nil,
        knownHosts: SSHKnownHosts, connectTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.privateKeyPath = privateKeyPath
        self.passphrase = passphrase
        self.knownHosts = knownHosts
        self.connectTimeout = connectTimeout
    }
}

extension Duration {
    /// The duration in whole milliseconds, at least 1 for a positive duration, 0 otherwise.
    var wholeMilliseconds: Int {
        let (seconds, attoseconds) = components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let millis = seconds.multipliedReportingOverflow(by: 1000)
        if millis.overflow { return Int.max }
        return max(1, Int(millis.partialValue) + Int(attoseconds / 1_000_000_000_000_000))
    }
}

/// The outcome of a remote command.
public struct SSHCommandResult: Sendable, Equatable {
    /// The exit status reported by the server; `nil` if the server sent none (for example when the
    /// command was killed by a signal, see `exitSignal`).
    public let exitStatus: Int32?
    /// The name of the signal that ended the command (`"KILL"`, `"TERM"`, …), if any.
    public let exitSignal: String?
    /// Everything the command wrote to standard output.
    public let stdout: [UInt8]
    /// Everything the command wrote to standard error.
    public let stderr: [UInt8]

    /// Creates a result.
    /// - Parameters:
    ///   - exitStatus: The exit status, if the server sent one.
    ///   - exitSignal: The signal that ended the command, if any.
    ///   - stdout: The standard output bytes.
    ///   - stderr: The standard error bytes.
    public init(exitStatus: Int32?, exitSignal: String? = nil, stdout: [UInt8], stderr: [UInt8]) {
        self.exitStatus = exitStatus
        self.exitSignal = exitSignal
        self.stdout = stdout
        self.stderr = stderr
    }

    /// `true` when the command exited with status 0.
    public var succeeded: Bool { exitStatus == 0 && exitSignal == nil }

    /// Standard output decoded as UTF-8 (invalid sequences are replaced).
    public var stdoutString: String { String(decoding: stdout, as: UTF8.self) }

    /// Standard error decoded as UTF-8 (invalid sequences are replaced).
    public var stderrString: String { String(decoding: stderr, as: UTF8.self) }
}

/// What to do with a server's host key.
public enum SSHHostKeyPolicy: Sendable, Equatable {
    /// The key must match an entry already in the known-hosts file; unknown hosts are refused.
    case strict
    /// An unknown host is recorded in the known-hosts file at first contact; a changed key is refused.
    case acceptNew
}

/// A known-hosts file owned by the caller, and the policy to apply to it.
///
/// The file uses OpenSSH's `known_hosts` format. Entries for a port other than 22 are written as
/// `[host]:port`. The file is rewritten (to a temporary file, then renamed) when a new host is
/// recorded; comment lines are not preserved. Writers in this process and others are serialised
/// with `flock` on `<path>.lock`.
public struct SSHKnownHosts: Sendable, Equatable {
    /// The path of the known-hosts file. It need not exist yet under `.acceptNew`.
    public var path: String
    /// The policy to apply.
    public var policy: SSHHostKeyPolicy

    /// Creates a known-hosts description.
    /// - Parameters:
    ///   - path: The path of the known-hosts file.
    ///   - policy: The policy to apply.
    public init(path: String, policy: SSHHostKeyPolicy) {
        self.path = path
        self.policy = policy
    }
}

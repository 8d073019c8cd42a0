import AgentAPI
package import AgentBasics
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// The user an exec job runs as when it is not the agent's own: its ids and, when the user has a passwd entry,
/// its name and home directory.
package struct ExecIdentity: Sendable, Equatable {
    package var uid: UInt32
    package var gid: UInt32
    /// The passwd name; `nil` for a bare uid without an entry (the job then has no supplementary groups).
    package var name: String?
    /// The passwd home directory.
    package var home: String?

    /// The user a request names: a passwd name or a numeric uid (a uid without an entry runs with gid = uid).
    /// - Throws: ``AgentError`` `bad_request` naming the user when no such user exists.
    package static func lookUp(_ user: String) throws(AgentError) -> ExecIdentity {
        guard !user.isEmpty, !user.contains("\0") else { throw AgentError(.badRequest, "user: must not be empty") }
        if let uid = UInt32(user) {
            return entry(uid: uid) ?? ExecIdentity(uid: uid, gid: uid, name: nil, home: nil)
        }
        guard let found = entry(name: user) else { throw AgentError(.badRequest, "user: no user named '\(user)'") }
        return found
    }

    /// The identity of a unix-socket peer: its own uid and gid, with its name and home when it has an entry.
    package static func peer(_ peer: AgentPeerCredentials) -> ExecIdentity {
        var identity = entry(uid: peer.uid) ?? ExecIdentity(uid: peer.uid, gid: peer.gid, name: nil, home: nil)
        identity.gid = peer.gid
        return identity
    }

    /// `getpwuid_r`.
    package static func entry(uid: UInt32) -> ExecIdentity? {
        withPasswd { getpwuid_r(uid_t(uid), &$0, $1, $2, &$3) }
    }

    /// `getpwnam_r`.
    package static func entry(name: String) -> ExecIdentity? {
        name.withCString { name in withPasswd { getpwnam_r(name, &$0, $1, $2, &$3) } }
    }

    private static func withPasswd(
        _ call: (inout passwd, UnsafeMutablePointer<CChar>, Int, inout UnsafeMutablePointer<passwd>?) -> Int32
    ) -> ExecIdentity? {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = buffer.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return EINVAL }
            return call(&record, base, buffer.count, &result)
        }
        guard status == 0, result != nil else { return nil }
        return ExecIdentity(
            uid: UInt32(record.pw_uid), gid: UInt32(record.pw_gid),
            name: record.pw_name.map { String(cString: $0) }, home: record.pw_dir.map { String(cString: $0) })
    }

    /// Whose identity a request runs under: `nil` for the agent's own (root), else the user.
    /// - Parameters:
    ///   - user: The request's `user` field.
    ///   - caller: Who sent the request.
    /// - Throws: ``AgentError`` `forbidden` when a non-root peer names another user (or the caller is not
    ///   identified), `bad_request` for an unknown user.
    package static func forRequest(user: String?, caller: AgentCaller) throws(AgentError) -> ExecIdentity? {
        if caller == .unidentified {
            throw AgentError(.forbidden, "exec needs an identified caller")
        }
        guard let peer = caller.unprivilegedPeer else {
            guard let user else { return nil }
            let identity = try lookUp(user)
            return identity.uid == getuid() && identity.gid == getgid() ? nil : identity
        }
        if let user {
            let named = UInt32(user) ?? entry(name: user)?.uid
            guard named == peer.uid else {
                throw AgentError(
                    .forbidden,
                    "user: a caller running as uid \(peer.uid) may only run commands as itself, not '\(user)'")
            }
        }
        return Self.peer(peer)
    }

    /// The argv prefix that switches to this identity: `setpriv --reuid --regid` with the user's groups (or none).
    /// - Throws: ``AgentError`` `command_failed` when `setpriv` (util-linux) is not installed.
    package func setprivPrefix() throws(AgentError) -> [String] {
        guard let setpriv = Self.setpriv else {
            throw AgentError(.commandFailed, "cannot run as uid \(uid): setpriv (util-linux) is not installed")
        }
        return [setpriv, "--reuid=\(uid)", "--regid=\(gid)", name == nil ? "--clear-groups" : "--init-groups", "--"]
    }

    /// `setpriv`, looked up once.
    package static let setpriv: String? = JobProcess.resolve("setpriv", path: "/usr/bin:/bin:/usr/sbin:/sbin")
}

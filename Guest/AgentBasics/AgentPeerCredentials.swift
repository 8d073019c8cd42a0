/// The credentials of the process at the other end of a unix-socket connection, as the kernel reports them
/// (`SO_PEERCRED`) at the time the process connected.
package struct AgentPeerCredentials: Sendable, Equatable {
    /// The peer's process id.
    package var pid: Int32
    /// The peer's effective user id.
    package var uid: UInt32
    /// The peer's effective group id.
    package var gid: UInt32

    package init(pid: Int32, uid: UInt32, gid: UInt32) {
        self.pid = pid
        self.uid = uid
        self.gid = gid
    }
}

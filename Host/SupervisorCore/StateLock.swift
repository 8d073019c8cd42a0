import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An exclusive `flock` on a lock file of the state directory, so that processes sharing it (commands, the
/// daemon) take turns: `pool.lock` while pool VMs are made or removed, `create.lock` while a VM's address is
/// chosen and recorded.
final class StateLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock.
    /// - Parameters:
    ///   - path: The lock file, made 0600 when missing.
    ///   - wait: Whether to wait for its holder; `false` returns `nil` at once when it is held.
    init?(path: String, wait: Bool) throws(SupervisorError) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw SupervisorError(.hostCommand, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        while flock(descriptor, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            close(descriptor)
            if code == EWOULDBLOCK { return nil }
            throw SupervisorError(.hostCommand, "cannot lock \(path): \(String(cString: strerror(code)))")
        }
        self.descriptor = descriptor
    }

    /// Releases the lock.
    func release() {
        close(descriptor)
    }
}

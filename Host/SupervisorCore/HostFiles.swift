import CoreFoundation
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Files and directories under the state directory that nobody but the supervisor (and, for what QEMU opens,
/// libvirt's `libvirt-qemu` group) may read.
///
/// Measured with libvirt 9.0 (`qemu:///system`, QEMU as `libvirt-qemu`, `dynamic_ownership=1`): QEMU must
/// traverse every directory on the path to the disk, so directories QEMU passes through are 0750 with group
/// `libvirt-qemu` (at 0700, root-owned, starting the domain fails with "Cannot access storage file … (as
/// uid:64055, gid:64055): Permission denied"). libvirt's DAC driver chowns the disk (and its backing chain) to
/// `libvirt-qemu` while the domain runs and gives the overlay back to root (0600 kept) when it stops; the
/// console log is opened by libvirt and stays root 0600. Directories QEMU never opens (`ssh/`) are 0700.
enum HostFiles {
    /// The group QEMU runs in under `qemu:///system`, when this host has it.
    static let qemuGroupName = "libvirt-qemu"

    /// Creates `path` (and missing parents with the same mode) or tightens an existing directory: mode 0750
    /// with group `libvirt-qemu` when `qemuTraversable` and that group exists, 0700 otherwise.
    /// - Throws: ``SupervisorError/Code/hostCommand`` naming the directory.
    static func privateDirectory(_ path: String, qemuTraversable: Bool) throws(SupervisorError) {
        let group = qemuTraversable ? qemuGroupID() : nil
        let mode: mode_t = group == nil ? 0o700 : 0o750
        var missing: [String] = []
        var current = path
        while !current.isEmpty, current != "/", !FileManager.default.fileExists(atPath: current) {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() {
            guard mkdir(directory, mode) == 0 || errno == EEXIST else {
                throw failure("cannot create directory \(directory)")
            }
            try tighten(directory, mode: mode, group: group)
        }
        // An existing shared directory (sticky, like /tmp) is never narrowed.
        var status = stat()
        if missing.isEmpty, stat(path, &status) == 0, status.st_mode & S_ISVTX == 0 {
            try tighten(path, mode: mode, group: group)
        }
    }

    private static func tighten(_ path: String, mode: mode_t, group: gid_t?) throws(SupervisorError) {
        if let group, chown(path, getuid(), group) != 0 {
            throw failure("cannot give \(path) group \(qemuGroupName)")
        }
        guard chmod(path, mode) == 0 else {
            throw failure("cannot set mode \(String(mode, radix: 8)) on \(path)")
        }
    }

    /// The numeric id of the `libvirt-qemu` group, or `nil` when the host has none.
    static func qemuGroupID() -> gid_t? {
        guard let entry = getgrnam(qemuGroupName) else { return nil }
        return entry.pointee.gr_gid
    }

    /// Takes group and world bits away from an existing file (a disk made before files were created private);
    /// nothing when it does not exist or is no wider than `mode`.
    /// - Throws: ``SupervisorError/Code/hostCommand`` naming the file.
    static func narrow(_ path: String, to mode: mode_t) throws(SupervisorError) {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & 0o777 & ~mode != 0 else { return }
        guard chmod(path, status.st_mode & 0o777 & mode) == 0 else {
            throw failure("cannot set mode \(String(mode, radix: 8)) on \(path)")
        }
    }

    /// Writes `contents` to a new file created with `mode` from its first byte (`O_CREAT | O_EXCL`), then
    /// renames it over `path`, so the file never exists with a wider mode and readers see old or new content.
    /// - Throws: ``SupervisorError/Code/hostCommand`` naming the file.
    static func writePrivate(_ contents: [UInt8], to path: String, mode: mode_t = 0o600) throws(SupervisorError) {
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try createExclusive(temporary, contents: contents, mode: mode)
        guard rename(temporary, path) == 0 else {
            let error = failure("cannot replace \(path)")
            unlink(temporary)
            throw error
        }
    }

    /// Creates a new file with `mode` from its first byte (`O_CREAT | O_EXCL`; the umask can only narrow it)
    /// and writes `contents`.
    /// - Throws: ``SupervisorError/Code/hostCommand`` naming the file, also when it exists already.
    static func createExclusive(_ path: String, contents: [UInt8], mode: mode_t = 0o600) throws(SupervisorError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw failure("cannot create \(path)")
        }
        var written = 0
        while written < contents.count {
            let result = contents[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                let error = failure("cannot write \(path)")
                close(descriptor)
                unlink(path)
                throw error
            }
            written += result
        }
        let synced = fsync(descriptor) == 0
        let closed = close(descriptor) == 0
        guard synced, closed else {
            let error = failure("cannot write \(path)")
            unlink(path)
            throw error
        }
    }

    private static func failure(_ message: String) -> SupervisorError {
        SupervisorError(.hostCommand, message + ": " + String(cString: strerror(errno)))
    }
}

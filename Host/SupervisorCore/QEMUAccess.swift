import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Checks, before a domain is defined, that QEMU's user on a `qemu:///system` host can reach the files the domain
/// opens: libvirt reports a missing permission only when the domain starts, as "Permission denied (as uid:…)".
///
/// The owner, group and other permission bits are checked for the user and each of its groups; access control
/// lists are not read.
public struct QEMUAccess: Sendable {
    /// The user QEMU runs as.
    public let user: String
    private let uid: uid_t
    private let groups: Set<gid_t>

    /// The access of `user`, or `nil` when the host has no such user (no system libvirt with QEMU).
    /// - Parameter user: The user QEMU runs as; `libvirt-qemu` on Debian.
    public init?(user: String = "libvirt-qemu") {
        guard let entry = getpwnam(user) else { return nil }
        let primary = entry.pointee.pw_gid
        self.user = user
        self.uid = entry.pointee.pw_uid
        var count: Int32 = 64
        var list = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, primary, &list, &count) == -1 {
            list = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(user, primary, &list, &count)
        }
        self.groups = Set(list.prefix(Int(max(count, 0)))).union([primary])
    }

    /// What the user must be able to do with a path.
    public enum Need: Sendable {
        /// Read the file.
        case read
        /// Enter the directory.
        case traverse
        /// Only reach the path: libvirt gives the file itself to QEMU's user (`dynamic_ownership`), but it cannot
        /// open the directories above it.
        case reach
    }

    /// Checks that the user can traverse every directory above `path` and, as `need` says, read or traverse
    /// `path` itself.
    /// - Parameters:
    ///   - path: An absolute path.
    ///   - need: What the user must do with `path` itself.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` naming the path that stops the user, its mode and owner,
    ///   the file the domain needs and what to do.
    public func check(_ path: String, _ need: Need) throws(SupervisorError) {
        var prefixes = ["/"]
        for component in URL(fileURLWithPath: path).standardizedFileURL.pathComponents.dropFirst() {
            prefixes.append((prefixes.count == 1 ? "" : prefixes[prefixes.count - 1]) + "/" + component)
        }
        for (index, prefix) in prefixes.enumerated() {
            let isTarget = index == prefixes.count - 1
            if isTarget && need == .reach { return }
            let wanted: Need = isTarget ? need : .traverse
            guard let info = Self.ownership(prefix) else {
                throw SupervisorError(.notFound, "\(prefix) does not exist (needed for \(path))")
            }
            guard !allows(info, wanted) else { continue }
            let mode = String(info.mode & 0o7777, radix: 8)
            let owner = "\(Self.userName(info.uid)):\(Self.groupName(info.gid))"
            let verb = wanted == .read ? "read" : "traverse"
            let fix = wanted == .read ? "chmod o+r \(prefix)" : "chmod o+x \(prefix)"
            throw SupervisorError(
                .invalidArgument,
                "QEMU runs as \(user), which cannot \(verb) \(prefix) (mode \(mode), owner \(owner))"
                    + (isTarget ? "" : " to reach \(path)")
                    + "; use a state directory it can reach (--state-dir or SOMNUS_STATE_DIR, "
                    + "such as /var/lib/somnus) or allow it with `\(fix)`")
        }
    }

    /// A file's permission bits, owner and group, or `nil` when it does not exist.
    private static func ownership(_ path: String) -> (mode: Int, uid: uid_t, gid: gid_t)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = attributes[.posixPermissions] as? Int,
            let owner = attributes[.ownerAccountID] as? NSNumber,
            let group = attributes[.groupOwnerAccountID] as? NSNumber
        else { return nil }
        return (mode, owner.uint32Value, group.uint32Value)
    }

    private func allows(_ info: (mode: Int, uid: uid_t, gid: gid_t), _ need: Need) -> Bool {
        let bits: Int
        if uid == 0 {
            return true
        } else if info.uid == uid {
            bits = (info.mode >> 6) & 0o7
        } else if groups.contains(info.gid) {
            bits = (info.mode >> 3) & 0o7
        } else {
            bits = info.mode & 0o7
        }
        return bits & (need == .read ? 0o4 : 0o1) != 0
    }

    private static func userName(_ uid: uid_t) -> String {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return String(uid) }
        return String(cString: name)
    }

    private static func groupName(_ gid: gid_t) -> String {
        guard let entry = getgrgid(gid), let name = entry.pointee.gr_name else { return String(gid) }
        return String(cString: name)
    }
}

extension VMManager {
    /// On a local `qemu:///system` connection, checks that QEMU's user can reach the image's kernel, initrd and
    /// disk (libvirt gives it the files themselves, not the directories above them) and enter the state directory,
    /// where the VM's overlay disk goes.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` from ``QEMUAccess/check(_:_:)``.
    func checkQEMUAccess(_ image: BaseImage.Location) throws(SupervisorError) {
        guard Self.isLocalQEMUSystem(configuration.libvirtURI), let access = QEMUAccess() else { return }
        for path in [image.kernelPath, image.initrdPath, image.diskPath] {
            try access.check(path, .reach)
        }
        try access.check(layout.root, .traverse)
    }

    /// Whether `uri` names the local system QEMU driver, where QEMU runs as its own user.
    static func isLocalQEMUSystem(_ uri: String) -> Bool {
        guard let url = URL(string: uri), let scheme = url.scheme else { return false }
        return (scheme == "qemu" || scheme.hasPrefix("qemu+")) && (url.host ?? "").isEmpty && url.path == "/system"
    }
}

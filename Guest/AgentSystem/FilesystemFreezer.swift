import AgentAPI
public import AgentBasics
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Lists, freezes and thaws filesystems for `POST /v1/fs/freeze` and `/v1/fs/thaw`.
///
/// Every method may block; the agent calls them on a thread pool.
public protocol FilesystemFreezer: Sendable {
    /// The mount points to freeze, in the order to freeze them.
    /// - Throws: ``AgentError`` when the mount table cannot be read.
    func mountPoints() throws(AgentError) -> [String]
    /// Freezes one mount point.
    /// - Throws: ``AgentError`` naming the mount point and the system's reason.
    func freeze(_ mountPoint: String) throws(AgentError)
    /// Thaws one mount point.
    /// - Throws: ``AgentError`` naming the mount point and the system's reason.
    func thaw(_ mountPoint: String) throws(AgentError)
    /// Thaws whatever is frozen, by this process or an earlier one (the agent calls it at start-up).
    /// - Returns: The mount points that were frozen and are thawed now.
    func thawAll() -> [String]
    /// Starts a process that thaws everything if the agent dies before its own thaw (see ``ThawGuard``).
    /// - Parameter timeout: How long the guard waits at most.
    /// - Returns: The guard, or `nil` when this freezer needs none or it cannot start.
    func startThawGuard(timeout: Duration) -> ThawGuard?
}

extension FilesystemFreezer {
    /// Thaws nothing: a freezer that does not know which of its mount points a previous process froze leaves
    /// them alone (``IoctlFilesystemFreezer`` asks the kernel).
    public func thawAll() -> [String] { [] }

    /// No guard: only a freezer of real filesystems needs one.
    public func startThawGuard(timeout: Duration) -> ThawGuard? { nil }
}

/// The real freezer: `FIFREEZE`/`FITHAW` ioctls on the writable block filesystems of a mount table.
public struct IoctlFilesystemFreezer: FilesystemFreezer {
    /// Filesystem types that support freezing and live on block devices.
    public static let freezableTypes: Set<String> = ["ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs"]
    /// `_IOWR('X', 119, int)`.
    package static let fiFreeze: UInt = 0xC004_5877
    /// `_IOWR('X', 120, int)`.
    package static let fiThaw: UInt = 0xC004_5878

    /// The mount table read by ``mountPoints()``.
    public let mountsFile: String

    /// Creates a freezer.
    /// - Parameter mountsFile: The mount table in `/proc/self/mounts` format; tests pass a temporary file.
    public init(mountsFile: String = "/proc/self/mounts") {
        self.mountsFile = mountsFile
    }

    /// The writable mount points of ``freezableTypes`` on `/dev/` devices, deepest first so a parent is frozen
    /// after its children.
    public func mountPoints() throws(AgentError) -> [String] {
        // Read to the end: `FileManager` reads a `/proc` file with one `read`, a page of a long mount table.
        guard let bytes = FileDescriptorReader.readAll(path: mountsFile) else {
            throw AgentError(.io, "cannot read the mount table \(mountsFile)")
        }
        return Self.parseMounts(String(decoding: bytes, as: UTF8.self))
    }

    /// Picks the freezable mount points out of a mount table's text.
    public static func parseMounts(_ text: String) -> [String] {
        var seen = Set<String>()
        var result: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 4, fields[0].hasPrefix("/dev/"), freezableTypes.contains(String(fields[2])) else {
                continue
            }
            guard fields[3].split(separator: ",").contains("rw") else { continue }
            let mountPoint = unescape(fields[1])
            if seen.insert(mountPoint).inserted { result.append(mountPoint) }
        }
        return result.sorted { ($0.count, $0) > ($1.count, $1) }
    }

    /// Decodes the kernel's octal escapes (`\040` for a space).
    package static func unescape(_ field: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(field.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "\\"), utf8.count >= 3,
                let value = UInt8(String(decoding: utf8.prefix(3), as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Freezes with `FIFREEZE`.
    public func freeze(_ mountPoint: String) throws(AgentError) {
        try Self.control(mountPoint, request: Self.fiFreeze, verb: "freeze")
    }

    /// Thaws with `FITHAW`.
    public func thaw(_ mountPoint: String) throws(AgentError) {
        try Self.control(mountPoint, request: Self.fiThaw, verb: "thaw")
    }

    /// Thaws every listed mount point, deepest last; the kernel refuses (`EINVAL`) those that are not frozen, and
    /// they are left out of the answer. Blocking.
    /// - Returns: The mount points that were frozen and are thawed now.
    public func thawAll() -> [String] {
        guard let mountPoints = try? mountPoints() else { return [] }
        return mountPoints.reversed().filter { (try? thaw($0)) != nil }
    }

    /// A ``ThawGuard`` process running this executable's `thaw --guard-seconds`.
    public func startThawGuard(timeout: Duration) -> ThawGuard? {
        ThawGuard.start(timeout: timeout)
    }

    private static func control(_ mountPoint: String, request: UInt, verb: String) throws(AgentError) {
        let descriptor = open(mountPoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw AgentError(.io, "cannot open \(mountPoint) to \(verb) it: \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        guard ioctl(descriptor, request, 0) == 0 else {
            throw AgentError(.io, "cannot \(verb) \(mountPoint): \(String(cString: strerror(errno)))")
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// What `stat` says about a file. The corresponding C functions are `stat` and `fstat`.
package struct FileStatus: Sendable {
    package var inode: UInt64
    package var size: Int64
    /// The modification time in nanoseconds since the epoch.
    package var modified: Int64
    package var isRegular: Bool

    package init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.init(info)
    }

    package init?(descriptor: Int32) {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return nil }
        self.init(info)
    }

    private init(_ info: stat) {
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        isRegular = info.st_mode & S_IFMT == S_IFREG
    }
}

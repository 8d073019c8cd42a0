#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Reads a file descriptor, or a file, to its end with plain `read` calls. `FileManager` reads a file whose size
/// `stat` reports as 0 (everything in `/proc`) with a single `read`, which stops after a page for
/// `/proc/self/smaps`.
package enum FileDescriptorReader {
    /// Reads a descriptor (standard input by default) to its end, retrying `EINTR`.
    /// - Returns: The bytes read before the end or an error.
    package static func readAll(_ descriptor: CInt = STDIN_FILENO) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return result }
            result.append(contentsOf: chunk[..<count])
        }
    }

    /// Reads a whole file.
    /// - Returns: Its bytes, or `nil` when it cannot be opened.
    package static func readAll(path: String) -> [UInt8]? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        return readAll(descriptor)
    }
}

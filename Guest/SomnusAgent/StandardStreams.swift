#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Raw reads and writes on the process's standard streams (Foundation's `FileHandle` is not linked).
enum StandardStreams {
    /// Writes all of `bytes` to a descriptor, retrying short writes and `EINTR`.
    /// - Returns: `false` when the descriptor failed (for example a closed pipe).
    @discardableResult
    static func write(_ bytes: some Collection<UInt8>, to descriptor: CInt = STDOUT_FILENO) -> Bool {
        // Text `print` buffered must come out first.
        fflush(nil)
        let buffer = Array(bytes)
        var offset = 0
        while offset < buffer.count {
            let written = buffer.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset)
            }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return false }
            offset += written
        }
        return true
    }

    /// Writes `text` to standard error.
    static func writeError(_ text: String) {
        write(Array(text.utf8), to: STDERR_FILENO)
    }
}

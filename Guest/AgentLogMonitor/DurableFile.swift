package import AgentBasics
package import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Replaces a file atomically and durably: the data goes to `<path>.tmp`, is flushed to disk, renamed over
/// `path`, and the directory is flushed, so after a crash the file holds either the old or the new content.
package enum DurableFile {
    /// Writes `data` to `path` as one unit.
    /// - Throws: ``AgentError`` (`io_error`) naming the file and the system's reason.
    package static func write(_ data: Data, to path: String) throws(AgentError) {
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure("cannot create \(temporary)") }
        var written = 0
        let complete = data.withUnsafeBytes { raw -> Bool in
            while written < raw.count {
                let count = Glibc.write(descriptor, raw.baseAddress.map { $0 + written }, raw.count - written)
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { return false }
                written += count
            }
            return true
        }
        guard complete else {
            let error = failure("cannot write \(temporary)")
            close(descriptor)
            unlink(temporary)
            throw error
        }
        guard fsync(descriptor) == 0 else {
            let error = failure("cannot flush \(temporary)")
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let error = failure("cannot rename \(temporary) to \(path)")
            unlink(temporary)
            throw error
        }
        let directory = open(FilePaths.split(path).directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// An `io_error` with the sentence and `strerror(errno)`, read right after the failing call.
    private static func failure(_ sentence: String) -> AgentError {
        AgentError(.io, "\(sentence): \(String(cString: strerror(errno)))")
    }
}

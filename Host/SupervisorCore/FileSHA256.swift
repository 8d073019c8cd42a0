import Crypto
import Foundation

/// The SHA-256 of a local file, read in 1 MiB chunks so that a large file is never held in memory whole.
enum FileSHA256 {
    /// The hex SHA-256 of the file at `path`. Blocking: from async code, call it through ``BlockingExecutor``.
    /// - Parameter path: The file.
    /// - Returns: 64 lowercase hex digits, as `sha256sum` prints them.
    /// - Throws: The file system's error when the file cannot be opened or read.
    static func hex(ofFile path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hex(hasher.finalize())
    }

    /// A digest as lowercase hex digits.
    static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}

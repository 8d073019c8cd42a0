internal import CSSH2
import Foundation
import Glibc

extension SSHSession {
    /// Uploads bytes to a remote file atomically.
    ///
    /// The bytes are written to a temporary file in the same directory (`.<name>.tmp-<random>`), given
    /// `mode` explicitly (so the remote umask does not apply), synced, and renamed over `remotePath`
    /// with `libssh2_sftp_rename_ex` (overwrite, atomic, native). OpenSSH's SFTP server refuses to
    /// rename over an existing file, so in that case the rename is done with `mv -f` over an `exec`
    /// channel, which is still an atomic `rename(2)`. On failure the temporary file is removed.
    /// - Parameters:
    ///   - bytes: The file content.
    ///   - remotePath: The destination path on the server (absolute, or relative to the login directory).
    ///   - mode: The permission bits of the new file, for example `0o755`.
    /// - Throws: `SSHError` with kind `.sftp(status:)` (the SFTP status code), `.timeout` when a
    ///   blocking call exceeds `configuration.operationTimeout`, `.sessionClosed` after ``close()``.
    public func upload(_ bytes: [UInt8], to remotePath: String, mode: UInt32 = 0o644) throws(SSHError) {
        try uploadLocked(to: remotePath, mode: mode) { (write) throws(SSHError) in
            // withUnsafeBytes rethrows untyped errors, so the typed error travels in a Result.
            try bytes.withUnsafeBytes { raw in Result { () throws(SSHError) in try write(raw) } }.get()
        }
    }

    /// Uploads bytes on a dedicated thread; see the blocking ``upload(_:to:mode:)``.
    /// - Parameters:
    ///   - bytes: The file content.
    ///   - remotePath: The destination path on the server.
    ///   - mode: The permission bits of the new file.
    /// - Throws: `SSHError`, as the blocking variant.
    public func upload(_ bytes: [UInt8], to remotePath: String, mode: UInt32 = 0o644) async throws(SSHError) {
        try await Self.offload { () throws(SSHError) in try self.upload(bytes, to: remotePath, mode: mode) }
    }

    /// Uploads a local file atomically, streaming it in chunks; see ``upload(_:to:mode:)``.
    /// - Parameters:
    ///   - localPath: The file to send.
    ///   - remotePath: The destination path on the server.
    ///   - mode: The permission bits of the new file, for example `0o755`.
    /// - Throws: `SSHError` with kind `.localFile(errno:)` if the local file cannot be read, otherwise
    ///   as ``upload(_:to:mode:)``.
    public func upload(contentsOf localPath: String, to remotePath: String, mode: UInt32 = 0o644) throws(SSHError) {
        let descriptor = open(localPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let number = errno
            throw SSHError(
                kind: .localFile(errno: number),
                message: "cannot open \(localPath): \(String(cString: strerror(number)))",
                function: "open")
        }
        defer { Glibc.close(descriptor) }
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        try uploadLocked(to: remotePath, mode: mode) { (write) throws(SSHError) in
            while true {
                let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
                if count == 0 { return }
                if count < 0 {
                    let number = errno
                    if number == EINTR { continue }
                    throw SSHError(
                        kind: .localFile(errno: number),
                        message: "cannot read \(localPath): \(String(cString: strerror(number)))", function: "read")
                }
                try chunk.withUnsafeBytes { raw in
                    Result { () throws(SSHError) in try write(UnsafeRawBufferPointer(rebasing: raw[0..<count])) }
                }.get()
            }
        }
    }

    /// Uploads a local file on a dedicated thread; see the blocking ``upload(contentsOf:to:mode:)``.
    /// - Parameters:
    ///   - localPath: The file to send.
    ///   - remotePath: The destination path on the server.
    ///   - mode: The permission bits of the new file.
    /// - Throws: `SSHError`, as the blocking variant.
    public func upload(contentsOf localPath: String, to remotePath: String, mode: UInt32 = 0o644) async throws(SSHError)
    {
        try await Self.offload { () throws(SSHError) in
            try self.upload(contentsOf: localPath, to: remotePath, mode: mode)
        }
    }

    /// Reads a small remote file completely.
    /// - Parameters:
    ///   - remotePath: The file on the server.
    ///   - maxBytes: The largest size accepted.
    /// - Returns: The file's content.
    /// - Throws: `SSHError` with kind `.sftp(status:)` (for example status 2, no such file),
    ///   `.remoteFileTooLarge` if the file exceeds `maxBytes`, `.timeout`, `.sessionClosed`.
    public func readFile(_ remotePath: String, maxBytes: Int = 1 << 20) throws(SSHError) -> [UInt8] {
        try withHandle(function: "SSHSession.readFile") { (session, _) throws(SSHError) -> [UInt8] in
            libssh2_session_set_timeout(session, configuration.operationTimeout.wholeMilliseconds)
            let sftp = try Self.openSFTP(session)
            defer { libssh2_sftp_shutdown(sftp) }
            guard
                let file = libssh2_sftp_open_ex(
                    sftp, remotePath, UInt32(remotePath.utf8.count), UInt(LIBSSH2_FXF_READ), 0,
                    LIBSSH2_SFTP_OPENFILE)
            else {
                throw Self.sftpError(session, sftp, function: "libssh2_sftp_open_ex", path: remotePath)
            }
            defer { libssh2_sftp_close_handle(file) }
            var content: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 32 * 1024)
            while true {
                let count = buffer.withUnsafeMutableBytes { raw in
                    libssh2_sftp_read(file, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
                }
                if count == 0 { break }
                if count < 0 { throw Self.sftpError(session, sftp, function: "libssh2_sftp_read", path: remotePath) }
                content.append(contentsOf: buffer[0..<count])
                if content.count > maxBytes {
                    throw SSHError(
                        kind: .remoteFileTooLarge, message: "\(remotePath) is larger than \(maxBytes) bytes",
                        function: "libssh2_sftp_read")
                }
            }
            return content
        }
    }

    /// Reads a small remote file on a dedicated thread; see the blocking ``readFile(_:maxBytes:)``.
    /// - Parameters:
    ///   - remotePath: The file on the server.
    ///   - maxBytes: The largest size accepted.
    /// - Returns: The file's content.
    /// - Throws: `SSHError`, as the blocking variant.
    public func readFile(_ remotePath: String, maxBytes: Int = 1 << 20) async throws(SSHError) -> [UInt8] {
        try await Self.offload { () throws(SSHError) -> [UInt8] in try self.readFile(remotePath, maxBytes: maxBytes) }
    }

    // MARK: - Internals

    private typealias ChunkWriter = (UnsafeRawBufferPointer) throws(SSHError) -> Void

    private func uploadLocked(
        to remotePath: String, mode: UInt32, produce: (ChunkWriter) throws(SSHError) -> Void
    ) throws(SSHError) {
        try withHandle(function: "SSHSession.upload") { (session, socket) throws(SSHError) in
            let operationTimeout = configuration.operationTimeout
            libssh2_session_set_timeout(session, operationTimeout.wholeMilliseconds)
            let sftp = try Self.openSFTP(session)
            defer { libssh2_sftp_shutdown(sftp) }

            let slash = remotePath.lastIndex(of: "/")
            let directory = slash.map { String(remotePath[...$0]) } ?? ""
            let name = slash.map { String(remotePath[remotePath.index(after: $0)...]) } ?? remotePath
            let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            let temporary = "\(directory).\(name).tmp-\(random)"
            let flags = LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC | LIBSSH2_FXF_EXCL
            guard
                let file = libssh2_sftp_open_ex(
                    sftp, temporary, UInt32(temporary.utf8.count), UInt(flags), Int(mode), LIBSSH2_SFTP_OPENFILE)
            else {
                throw Self.sftpError(session, sftp, function: "libssh2_sftp_open_ex", path: temporary)
            }
            var openFile: OpaquePointer? = file
            do throws(SSHError) {
                try produce { (chunk) throws(SSHError) in
                    var offset = 0
                    while offset < chunk.count {
                        let written = libssh2_sftp_write(
                            file, chunk.baseAddress?.advanced(by: offset).assumingMemoryBound(to: CChar.self),
                            chunk.count - offset)
                        if written < 0 {
                            throw Self.sftpError(session, sftp, function: "libssh2_sftp_write", path: temporary)
                        }
                        offset += written
                    }
                }
                var attributes = LIBSSH2_SFTP_ATTRIBUTES()
                attributes.flags = UInt(LIBSSH2_SFTP_ATTR_PERMISSIONS)
                attributes.permissions = UInt(mode)
                if libssh2_sftp_fstat_ex(file, &attributes, 1) != 0 {
                    throw Self.sftpError(session, sftp, function: "libssh2_sftp_fstat_ex", path: temporary)
                }
                if libssh2_sftp_fsync(file) != 0 {
                    throw Self.sftpError(session, sftp, function: "libssh2_sftp_fsync", path: temporary)
                }
                openFile = nil
                if libssh2_sftp_close_handle(file) != 0 {
                    throw Self.sftpError(session, sftp, function: "libssh2_sftp_close_handle", path: temporary)
                }
                let renameFlags =
                    LIBSSH2_SFTP_RENAME_OVERWRITE | LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE
                let renamed = libssh2_sftp_rename_ex(
                    sftp, temporary, UInt32(temporary.utf8.count), remotePath, UInt32(remotePath.utf8.count),
                    Int(renameFlags))
                if renamed != 0 {
                    let error = Self.sftpError(session, sftp, function: "libssh2_sftp_rename_ex", path: remotePath)
                    guard
                        error.kind == .sftp(status: LIBSSH2_FX_FAILURE)
                            || error.kind == .sftp(status: LIBSSH2_FX_FILE_ALREADY_EXISTS)
                    else { throw error }
                    // OpenSSH's SFTP v3 rename is link+unlink and fails on an existing target.
                    let moved = try Self.runLocked(
                        session: session, socket: socket,
                        command: "mv -f -- \(Self.shellQuoted(temporary)) \(Self.shellQuoted(remotePath))",
                        timeout: operationTimeout)
                    libssh2_session_set_timeout(session, operationTimeout.wholeMilliseconds)
                    guard moved.succeeded else {
                        throw SSHError(
                            kind: error.kind, code: error.code,
                            message: "cannot rename \(temporary) to \(remotePath): \(error.message); mv: "
                                + moved.stderrString.trimmingCharacters(in: .whitespacesAndNewlines),
                            function: "mv")
                    }
                }
            } catch {
                if let openFile { libssh2_sftp_close_handle(openFile) }
                libssh2_session_set_timeout(session, 2000)
                libssh2_sftp_unlink_ex(sftp, temporary, UInt32(temporary.utf8.count))
                throw error
            }
        }
    }

    private static func openSFTP(_ session: OpaquePointer) throws(SSHError) -> OpaquePointer {
        guard let sftp = libssh2_sftp_init(session) else {
            throw lastError(session, kind: .sftp(status: 0), function: "libssh2_sftp_init")
        }
        return sftp
    }

    /// Builds an error from libssh2's last error, adding the SFTP status code when the server sent one.
    private static func sftpError(
        _ session: OpaquePointer, _ sftp: OpaquePointer, function: String, path: String
    ) -> SSHError {
        let base = lastError(session, kind: .sftp(status: 0), function: function)
        guard base.code == Int(LIBSSH2_ERROR_SFTP_PROTOCOL) else {
            return SSHError(kind: base.kind, code: base.code, message: "\(path): \(base.message)", function: function)
        }
        let status = libssh2_sftp_last_error(sftp)
        return SSHError(
            kind: .sftp(status: status), code: base.code,
            message: "\(path): \(base.message) (SFTP status \(status)\(statusName(status).map { ", " + $0 } ?? ""))",
            function: function)
    }

    private static func statusName(_ status: UInt) -> String? {
        switch status {
        case LIBSSH2_FX_NO_SUCH_FILE: "no such file"
        case LIBSSH2_FX_PERMISSION_DENIED: "permission denied"
        case LIBSSH2_FX_FAILURE: "failure"
        case LIBSSH2_FX_NO_SUCH_PATH: "no such path"
        case LIBSSH2_FX_FILE_ALREADY_EXISTS: "file already exists"
        case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: "no space on file system"
        case LIBSSH2_FX_NOT_A_DIRECTORY: "not a directory"
        default: nil
        }
    }

    /// Quotes a string for a POSIX shell.
    static func shellQuoted(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}

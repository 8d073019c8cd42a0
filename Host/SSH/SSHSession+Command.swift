internal import CSSH2
import Glibc

extension SSHSession {
    /// Runs a command through the server's shell (an SSH `exec` request) and collects its output.
    ///
    /// The whole exchange (opening the channel, running, reading both streams, closing) must finish
    /// within `timeout`. On timeout the channel is closed; the remote process is not signalled (wrap
    /// long commands with `timeout(1)` on the remote side if they must die).
    /// - Parameters:
    ///   - command: The command line, interpreted by the remote user's shell.
    ///   - timeout: The deadline for the whole command.
    /// - Returns: The exit status, the exit signal if any, and everything written to stdout and stderr.
    /// - Throws: `SSHError` with kind `.timeout` when the deadline passes, `.channel` when the channel
    ///   cannot be opened or the command cannot be started, `.sessionClosed` after ``close()``.
    public func run(_ command: String, timeout: Duration = .seconds(60)) throws(SSHError) -> SSHCommandResult {
        try withHandle(function: "SSHSession.run") { (session, socket) throws(SSHError) -> SSHCommandResult in
            try Self.runLocked(session: session, socket: socket, command: command, timeout: timeout)
        }
    }

    /// Runs a command on a dedicated thread; see the blocking ``run(_:timeout:)``.
    /// - Parameters:
    ///   - command: The command line, interpreted by the remote user's shell.
    ///   - timeout: The deadline for the whole command.
    /// - Returns: The command's result.
    /// - Throws: `SSHError`, as the blocking variant.
    public func run(_ command: String, timeout: Duration = .seconds(60)) async throws(SSHError) -> SSHCommandResult {
        try await Self.offload { () throws(SSHError) -> SSHCommandResult in try self.run(command, timeout: timeout) }
    }

    /// Runs a command with a local file as its standard input, sent over the same `exec` channel as the command and
    /// followed by end of file, while the command's output is collected as by ``run(_:timeout:)``. Once the command
    /// closes its output, the part of the file it did not read is not sent.
    /// - Parameters:
    ///   - command: The command line, interpreted by the remote user's shell.
    ///   - inputPath: The local file whose bytes become the command's standard input.
    ///   - timeout: The deadline for the whole exchange, sending the file included.
    /// - Returns: The command's result.
    /// - Throws: `SSHError` with kind `.localFile(errno:)` when the file cannot be read, otherwise as
    ///   ``run(_:timeout:)``.
    public func run(_ command: String, inputPath: String, timeout: Duration = .seconds(60)) throws(SSHError)
        -> SSHCommandResult
    {
        let descriptor = open(inputPath, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let number = errno
            throw SSHError(
                kind: .localFile(errno: number),
                message: "cannot open \(inputPath): \(String(cString: strerror(number)))", function: "open")
        }
        defer { Glibc.close(descriptor) }
        let input = StandardInput(descriptor: descriptor, path: inputPath)
        return try withHandle(function: "SSHSession.run") { (session, socket) throws(SSHError) -> SSHCommandResult in
            try Self.runLocked(session: session, socket: socket, command: command, input: input, timeout: timeout)
        }
    }

    /// Runs a command with a local file as its standard input on a dedicated thread; see the blocking
    /// ``run(_:inputPath:timeout:)``.
    /// - Parameters:
    ///   - command: The command line, interpreted by the remote user's shell.
    ///   - inputPath: The local file whose bytes become the command's standard input.
    ///   - timeout: The deadline for the whole exchange.
    /// - Returns: The command's result.
    /// - Throws: `SSHError`, as the blocking variant.
    public func run(_ command: String, inputPath: String, timeout: Duration = .seconds(60)) async throws(SSHError)
        -> SSHCommandResult
    {
        try await Self.offload { () throws(SSHError) -> SSHCommandResult in
            try self.run(command, inputPath: inputPath, timeout: timeout)
        }
    }

    /// Runs a command; the caller holds the session lock. Uses libssh2's non-blocking mode so that a
    /// single deadline bounds the whole exchange.
    static func runLocked(
        session: OpaquePointer, socket: Int32, command: String, input: StandardInput? = nil, timeout: Duration
    ) throws(SSHError) -> SSHCommandResult {
        let deadline = ContinuousClock.now + timeout
        libssh2_session_set_blocking(session, 0)
        defer { libssh2_session_set_blocking(session, 1) }

        var channel: OpaquePointer?
        while channel == nil {
            channel = libssh2_channel_open_ex(
                // 2 MiB is LIBSSH2_CHANNEL_WINDOW_DEFAULT, whose macro expression does not import.
                session, "session", 7, 2 * 1024 * 1024, UInt32(LIBSSH2_CHANNEL_PACKET_DEFAULT),
                nil, 0)
            if channel == nil {
                try retryOrThrow(
                    session: session, socket: socket, code: libssh2_session_last_errno(session), deadline: deadline,
                    kind: .channel, function: "libssh2_channel_open_ex")
            }
        }
        guard let channel else {
            throw SSHError(kind: .channel, message: "no channel", function: "libssh2_channel_open_ex")
        }
        do throws(SSHError) {
            let result = try exchange(
                session: session, socket: socket, channel: channel, command: command, input: input,
                deadline: deadline)
            while true {
                let freed = libssh2_channel_free(channel)
                if freed == 0 { break }
                try retryOrThrow(
                    session: session, socket: socket, code: freed, deadline: deadline, kind: .channel,
                    function: "libssh2_channel_free")
            }
            return result
        } catch {
            // Abandon the channel: a short blocking free sends CHANNEL_CLOSE; if the server does not
            // answer in time (the command still runs), libssh2 keeps the channel until the session ends.
            libssh2_session_set_blocking(session, 1)
            libssh2_session_set_timeout(session, 500)
            libssh2_channel_free(channel)
            throw error
        }
    }

    private static func exchange(
        session: OpaquePointer, socket: Int32, channel: OpaquePointer, command: String, input: StandardInput?,
        deadline: ContinuousClock.Instant
    ) throws(SSHError) -> SSHCommandResult {
        while true {
            let started = libssh2_channel_process_startup(channel, "exec", 4, command, UInt32(command.utf8.count))
            if started == 0 { break }
            try retryOrThrow(
                session: session, socket: socket, code: started, deadline: deadline, kind: .channel,
                function: "libssh2_channel_process_startup")
        }

        var output: [[UInt8]] = [[], []]
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        var sender = input.map { InputSender(input: $0) }
        while true {
            var progressed = false
            if var active = sender {
                progressed = try active.send(session: session, channel: channel)
                sender = active.finished ? nil : active
            }
            for stream in 0..<2 {
                let count = buffer.withUnsafeMutableBytes { raw in
                    libssh2_channel_read_ex(
                        channel, Int32(stream), raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
                }
                if count > 0 {
                    output[stream].append(contentsOf: buffer[0..<count])
                    progressed = true
                } else if count < 0 && count != LIBSSH2_ERROR_EAGAIN {
                    throw SSHSession.lastError(session, kind: .channel, function: "libssh2_channel_read_ex")
                }
            }
            if progressed { continue }
            // The command closed its output: it has ended (a command reads its input before that), so whatever
            // of the input it did not read is not sent.
            if libssh2_channel_eof(channel) != 0 { break }
            try waitForSocket(session: session, socket: socket, deadline: deadline, function: "libssh2_channel_read_ex")
        }

        while true {
            let closed = libssh2_channel_close(channel)
            if closed == 0 { break }
            try retryOrThrow(
                session: session, socket: socket, code: closed, deadline: deadline, kind: .channel,
                function: "libssh2_channel_close")
        }
        while true {
            let waited = libssh2_channel_wait_closed(channel)
            if waited == 0 { break }
            try retryOrThrow(
                session: session, socket: socket, code: waited, deadline: deadline, kind: .channel,
                function: "libssh2_channel_wait_closed")
        }
        let status = libssh2_channel_get_exit_status(channel)
        var signalPointer: UnsafeMutablePointer<CChar>?
        var signalLength = 0
        var signal: String?
        if libssh2_channel_get_exit_signal(channel, &signalPointer, &signalLength, nil, nil, nil, nil) == 0,
            let signalPointer
        {
            signal = String(decoding: UnsafeRawBufferPointer(start: signalPointer, count: signalLength), as: UTF8.self)
            libssh2_free(session, signalPointer)
        }
        return SSHCommandResult(
            exitStatus: signal == nil ? status : nil, exitSignal: signal, stdout: output[0], stderr: output[1])
    }

    /// Waits for the socket if `code` is `LIBSSH2_ERROR_EAGAIN`, otherwise throws libssh2's error.
    private static func retryOrThrow(
        session: OpaquePointer, socket: Int32, code: Int32, deadline: ContinuousClock.Instant, kind: SSHError.Kind,
        function: String
    ) throws(SSHError) {
        guard code == LIBSSH2_ERROR_EAGAIN else {
            throw SSHSession.lastError(session, kind: kind, function: function)
        }
        try waitForSocket(session: session, socket: socket, deadline: deadline, function: function)
    }

    /// Waits until the socket is ready in the direction libssh2 is blocked on, or throws at the deadline.
    private static func waitForSocket(
        session: OpaquePointer, socket: Int32, deadline: ContinuousClock.Instant, function: String
    ) throws(SSHError) {
        let remaining = (deadline - ContinuousClock.now).wholeMilliseconds
        guard remaining > 0 else {
            throw SSHError(
                kind: .timeout, code: Int(LIBSSH2_ERROR_TIMEOUT), message: "command did not finish before its deadline",
                function: function)
        }
        let directions = libssh2_session_block_directions(session)
        var events: Int32 = 0
        if directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0 { events |= POLLIN }
        if directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0 { events |= POLLOUT }
        if events == 0 { events = POLLIN }
        var entry = pollfd(fd: socket, events: Int16(events), revents: 0)
        let ready = poll(&entry, 1, Int32(min(remaining, 1000)))
        if ready < 0 && errno != EINTR {
            let reason = String(cString: strerror(errno))
            throw SSHError(kind: .channel, message: "poll failed: \(reason)", function: "poll")
        }
    }
}

/// A local file that becomes a remote command's standard input.
struct StandardInput {
    /// The open file.
    let descriptor: Int32
    /// Its path, for errors.
    let path: String
}

/// Sends a ``StandardInput`` over a channel in non-blocking steps, then end of file.
private struct InputSender {
    let input: StandardInput
    private var pending: [UInt8] = []
    private var offset = 0
    private var readAll = false
    /// `true` once every byte and the end of file were sent.
    private(set) var finished = false

    init(input: StandardInput) { self.input = input }

    /// Sends what the channel takes now.
    /// - Returns: Whether anything was sent.
    mutating func send(session: OpaquePointer, channel: OpaquePointer) throws(SSHError) -> Bool {
        if offset == pending.count && !readAll {
            try refill()
        }
        if offset < pending.count {
            let written = pending[offset...].withUnsafeBytes { raw in
                libssh2_channel_write_ex(channel, 0, raw.baseAddress?.assumingMemoryBound(to: CChar.self), raw.count)
            }
            if written == LIBSSH2_ERROR_EAGAIN { return false }
            if written == LIBSSH2_ERROR_CHANNEL_CLOSED || written == LIBSSH2_ERROR_CHANNEL_EOF_SENT {
                // The command ended without reading everything; its status and output still arrive.
                finished = true
                return true
            }
            if written < 0 {
                throw SSHSession.lastError(session, kind: .channel, function: "libssh2_channel_write_ex")
            }
            offset += written
            return written > 0
        }
        let sent = libssh2_channel_send_eof(channel)
        if sent == LIBSSH2_ERROR_EAGAIN { return false }
        if sent < 0 { throw SSHSession.lastError(session, kind: .channel, function: "libssh2_channel_send_eof") }
        finished = true
        return true
    }

    private mutating func refill() throws(SSHError) {
        pending = [UInt8](repeating: 0, count: 256 * 1024)
        offset = 0
        while true {
            let count = pending.withUnsafeMutableBytes { Glibc.read(input.descriptor, $0.baseAddress, $0.count) }
            if count >= 0 {
                pending.removeSubrange(count...)
                readAll = count == 0
                return
            }
            let number = errno
            if number == EINTR { continue }
            throw SSHError(
                kind: .localFile(errno: number),
                message: "cannot read \(input.path): \(String(cString: strerror(number)))", function: "read")
        }
    }
}

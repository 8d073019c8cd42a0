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

    /// Runs a command; the caller holds the session lock. Uses libssh2's non-blocking mode so that a
    /// single deadline bounds the whole exchange.
    static func runLocked(
        session: OpaquePointer, socket: Int32, command: String, timeout: Duration
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
                session: session, socket: socket, channel: channel, command: command, deadline: deadline)
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
        session: OpaquePointer, socket: Int32, channel: OpaquePointer, command: String,
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
        while true {
            var progressed = false
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

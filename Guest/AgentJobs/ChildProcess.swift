package import AgentBasics
import FoundationEssentials

#if canImport(Glibc)
    package import Glibc
#endif

/// A started child process with pipes on its standard output and standard error, written on posix_spawn for
/// the callers that must not wait on the cooperative pool: the thaw guard, started from the freeze's own thread
/// while filesystems are about to be frozen (and left running after the call, reaped later by ``ThawGuard``), and
/// short commands (`systemctl`) run from threads that already block. Job commands run through swift-subprocess
/// (``JobProcess``).
package struct ChildProcess: Sendable {
    /// The process id.
    package let pid: pid_t
    /// The read end of the child's standard output (close-on-exec, owned by the caller).
    package let stdout: Int32
    /// The read end of the child's standard error (close-on-exec, owned by the caller).
    package let stderr: Int32

    /// How a finished child ended.
    package enum Termination: Sendable, Equatable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it.
        case signaled(Int32)
    }

    /// The result of ``run(_:timeout:)``.
    package struct Output: Sendable {
        package var termination: Termination
        package var stdout: String
        package var stderr: String
    }

    /// Starts `argv[0]` (looked up in `PATH`) with the agent's environment, stdin on `/dev/null`, default signal
    /// dispositions and an empty signal mask.
    /// - Parameter argv: The program and its arguments; must not be empty.
    /// - Throws: ``AgentError`` (`command_failed`) with the program's name and the system's reason.
    package static func spawn(_ argv: [String]) throws(AgentError) -> ChildProcess {
        guard let program = argv.first, !program.isEmpty else {
            throw AgentError(.badRequest, "argv: must name a program")
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else { throw systemError("pipe", program) }
        guard pipe(&errPipe) == 0 else {
            let error = systemError("pipe", program)
            close(outPipe[0])
            close(outPipe[1])
            throw error
        }
        for descriptor in outPipe + errPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        defer {
            close(outPipe[1])
            close(errPipe[1])
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        var result: Int32 = 0
        // ETXTBSY: a program written a moment ago is still open for writing in a child another thread forked
        // before it could close it; that descriptor goes away when the child execs. Try again a few times.
        for attempt in 0..<5 {
            if attempt > 0 { usleep(20_000) }
            result = posix_spawnp(&pid, argv[0], &actions, &attributes, arguments, environ)
            if result != ETXTBSY { break }
        }
        guard result == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            throw AgentError(.commandFailed, "cannot start '\(program)': \(String(cString: strerror(result)))")
        }
        return ChildProcess(pid: pid, stdout: outPipe[0], stderr: errPipe[0])
    }

    /// The executable `program` names: itself when it contains a slash, else the first match in `path`.
    package static func resolve(_ program: String, path: String?) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs a short command to its end and collects its output. Blocks the calling thread: call it on a
    /// thread pool.
    /// - Parameters:
    ///   - argv: The program and its arguments.
    ///   - timeout: After this the process is killed.
    /// - Throws: ``AgentError`` (`command_failed`) when it cannot be started.
    package static func run(_ argv: [String], timeout: Duration = .seconds(10)) throws(AgentError) -> Output {
        let child = try spawn(argv)
        let collector = OutputCollector(limit: 1 << 20)
        let deadline = ContinuousClock.now + timeout
        var killed = false
        collector.pump(stdout: child.stdout, stderr: child.stderr) {
            if !killed && ContinuousClock.now > deadline {
                kill(child.pid, SIGKILL)
                killed = true
            }
            return false
        }
        let termination = child.wait()
        return Output(
            termination: termination,
            stdout: String(decoding: collector.stdout, as: UTF8.self),
            stderr: String(decoding: collector.stderr, as: UTF8.self)
        )
    }

    /// Waits for the child to end and reaps it. Blocks the calling thread.
    package func wait() -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Self.termination(status)
    }

    private static func termination(_ status: Int32) -> Termination {
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }

    private static func systemError(_ function: String, _ program: String) -> AgentError {
        AgentError(.commandFailed, "cannot start '\(program)': \(function): \(String(cString: strerror(errno)))")
    }
}

/// Reads a child's two pipes until both reach end of file, keeping up to `limit` bytes of each.
///
/// Used by one thread at a time.
package final class OutputCollector {
    package let limit: Int
    package private(set) var stdout: [UInt8] = []
    package private(set) var stderr: [UInt8] = []
    package private(set) var stdoutTruncated = false
    package private(set) var stderrTruncated = false

    package init(limit: Int) {
        self.limit = limit
    }

    /// Polls both descriptors, appending what arrives, until both are at end of file or `tick` (called about
    /// every 100 ms and after every read) returns `true`; closes both descriptors before returning.
    /// - Parameter tick: Returns `true` to stop reading.
    package func pump(stdout out: Int32, stderr err: Int32, tick: () -> Bool) {
        var descriptors = [
            pollfd(fd: out, events: Int16(POLLIN), revents: 0), pollfd(fd: err, events: Int16(POLLIN), revents: 0),
        ]
        var open = [true, true]
        var buffer = [UInt8](repeating: 0, count: 65536)
        defer {
            close(out)
            close(err)
        }
        while open[0] || open[1] {
            for index in 0..<2 { descriptors[index].fd = open[index] ? (index == 0 ? out : err) : -1 }
            let ready = Glibc.poll(&descriptors, 2, 100)
            if ready < 0 && errno != EINTR { return }
            for index in 0..<2 where open[index] && descriptors[index].revents != 0 {
                let count = read(descriptors[index].fd, &buffer, buffer.count)
                if count > 0 {
                    append(buffer[0..<count], toError: index == 1)
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    open[index] = false
                }
            }
            if tick() { return }
        }
    }

    private func append(_ chunk: ArraySlice<UInt8>, toError: Bool) {
        if toError {
            let room = max(0, limit - stderr.count)
            stderr.append(contentsOf: chunk.prefix(room))
            if chunk.count > room { stderrTruncated = true }
        } else {
            let room = max(0, limit - stdout.count)
            stdout.append(contentsOf: chunk.prefix(room))
            if chunk.count > room { stdoutTruncated = true }
        }
    }
}

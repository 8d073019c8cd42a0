import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A process that thaws every filesystem when the agent that froze them dies mid-freeze.
///
/// A frozen root filesystem stops journald, so nothing systemd starts afterwards (the unit's `ExecStopPost`, the
/// restarted agent) gets past connecting its output to the journal: a thaw has to come from a process that exists
/// before the freeze. The agent starts one for each freeze (`somnus-agent thaw --guard-seconds N --agent-pid P`)
/// and kills it after its own thaw. The guard thaws when the agent is gone (its parent changes), when a TERM, INT
/// or HUP arrives (systemd signals what is left of the unit's cgroup once the agent died, before `ExecStopPost`),
/// or when its deadline passes.
public final class ThawGuard: Sendable {
    /// The guard's process id.
    public let pid: Int32

    private init(pid: Int32) {
        self.pid = pid
    }

    /// Starts a guard running this executable's `thaw --guard-seconds`; `nil` when it cannot start (the freeze
    /// goes on with the agent's own deadline only).
    /// - Parameter timeout: How long the guard waits at most before it thaws.
    package static func start(timeout: Duration) -> ThawGuard? {
        let seconds = max(1, Int((timeout / .seconds(1)).rounded(.up)))
        let argv = ["/proc/self/exe", "thaw", "--guard-seconds", "\(seconds)", "--agent-pid", "\(getpid())"]
        guard let child = spawn(argv) else { return nil }
        defer {
            close(child.stdout)
            close(child.stderr)
        }
        // Nothing is frozen until the guard has blocked the signals it waits for and says `ready`: a TERM before
        // that would end it without a thaw.
        var ready = pollfd(fd: child.stdout, events: Int16(POLLIN), revents: 0)
        var byte: UInt8 = 0
        guard poll(&ready, 1, 5000) == 1, read(child.stdout, &byte, 1) == 1 else {
            ThawGuard(pid: child.pid).dismiss()
            return nil
        }
        return ThawGuard(pid: child.pid)
    }

    /// Starts `argv[0]` (a path) with the agent's environment, stdin on `/dev/null`, pipes on standard output and
    /// standard error (read ends close-on-exec), default signal dispositions and an empty signal mask. It runs on
    /// the freeze's own thread, never the cooperative pool, and stays running after the call (``dismiss()`` reaps
    /// it), which is why it is not started through swift-subprocess.
    /// - Returns: The child and the read ends of its pipes, `nil` when it cannot start.
    private static func spawn(_ argv: [String]) -> (pid: pid_t, stdout: Int32, stderr: Int32)? {
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else { return nil }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0])
            close(outPipe[1])
            return nil
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
        guard posix_spawn(&pid, argv[0], &actions, &attributes, arguments, environ) == 0 else {
            close(outPipe[0])
            close(errPipe[0])
            return nil
        }
        return (pid, outPipe[0], errPipe[0])
    }

    /// Ends the guard without a thaw (the agent thawed itself) and reaps it.
    package func dismiss() {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    /// Runs in the guard process: catches TERM, INT and HUP (in whichever thread they arrive), writes `ready` on
    /// standard output, then returns once `agent` is no longer its parent, one of those signals arrives, or
    /// `timeout` has passed.
    /// - Parameters:
    ///   - agent: The agent's process id.
    ///   - timeout: The longest wait.
    /// - Returns: Why the wait ended: `agent exited`, `signal N` or `deadline`.
    public static func hold(agent: Int32, timeout: Duration) -> String {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in thawGuardSignal.store(signal, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            sigaction(signal, &action, nil)
            sigaddset(&signals, signal)
        }
        // A mask inherited from the starting process must not keep them from this thread.
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        _ = "ready\n".utf8CString.withUnsafeBufferPointer { write(STDOUT_FILENO, $0.baseAddress, $0.count - 1) }
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while true {
            let signal = thawGuardSignal.load(ordering: .relaxed)
            if signal != 0 { return "signal \(signal)" }
            if getppid() != agent { return "agent exited" }
            if clock.now >= end { return "deadline" }
            usleep(100_000)
        }
    }
}

/// The signal a guard caught; written by its signal handler, which may run on any thread.
private let thawGuardSignal = Atomic<Int32>(0)

import AgentJobs
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
        guard let child = try? ChildProcess.spawn(argv) else { return nil }
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

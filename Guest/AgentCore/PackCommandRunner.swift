import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one command of a pack job to its end in its own process group, streaming its output line by line.
///
/// Blocks the calling thread (a pack job's own thread).
struct PackCommandRunner {
    /// How the command ended.
    struct Result: Sendable {
        /// How the process ended, `nil` when it could not be started.
        var termination: ChildProcess.Termination?
        /// Whether the runner stopped it at its deadline.
        var timedOut = false
        /// Whether it was stopped because the job was cancelled.
        var cancelled = false
        /// Why it could not be started.
        var startError: String?
        /// The last lines of its output (standard output and standard error interleaved).
        var tail: [String] = []

        /// Whether it exited with status `code`.
        func exited(with code: Int) -> Bool { termination == .exited(Int32(code)) }

        /// A clause such as `exited with status 3` or `timed out after 30 s`.
        func outcome(timeout: Duration) -> String {
            if let startError { return "could not start: \(startError)" }
            if cancelled { return "was cancelled" }
            if timedOut { return "timed out after \(timeout.components.seconds) s" }
            switch termination {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let signal): return "was killed by signal \(signal)"
            case nil: return "did not run"
            }
        }
    }

    /// How many trailing output lines a result keeps.
    static let tailLines = 40
    /// Longer output lines are cut to this many bytes.
    static let maxLineBytes = 4000

    /// Time between SIGTERM and SIGKILL to the process group.
    var killGrace: Duration

    /// Runs `argv` until it ends, its deadline passes or `isCancelled` turns true.
    /// - Parameters:
    ///   - argv: The program (looked up in `environment`'s `PATH`) and its arguments.
    ///   - environment: The child's whole environment.
    ///   - timeout: Its deadline; the process group gets SIGTERM then, SIGKILL after ``killGrace``.
    ///   - isCancelled: Polled about every 100 ms.
    ///   - scope: The transient systemd scope to run it in (``ChildProcess/jobScope(_:id:)``), or `nil`.
    ///   - onLine: Called with each complete output line (and a final partial one).
    /// - Returns: How it ended and its last lines.
    func run(
        _ argv: [String],
        environment: [String: String],
        timeout: Duration,
        scope: String? = nil,
        isCancelled: () -> Bool,
        onLine: (String) -> Void
    ) -> Result {
        var result = Result()
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(argv, environment: environment, newProcessGroup: true, scope: scope)
        } catch {
            result.startError = error.message
            return result
        }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var termination: ChildProcess.Termination?
        var exitSeen: ContinuousClock.Instant?
        var termSent: ContinuousClock.Instant?
        var killSent = false
        var pending: [[UInt8]] = [[], []]
        var tail: [String] = []

        func emit(_ bytes: [UInt8]) {
            var line = String(decoding: bytes.prefix(Self.maxLineBytes), as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            tail.append(line)
            if tail.count > Self.tailLines { tail.removeFirst(tail.count - Self.tailLines) }
            onLine(line)
        }

        let collector = OutputCollector(limit: 0)
        collector.pump(stdout: child.stdout, stderr: child.stderr) { chunk, isError in
            let stream = isError ? 1 : 0
            for byte in chunk {
                if byte == 0x0a {
                    emit(pending[stream])
                    pending[stream].removeAll(keepingCapacity: true)
                } else {
                    pending[stream].append(byte)
                }
            }
        } tick: {
            let now = clock.now
            if termination == nil, let ended = child.poll() {
                termination = ended
                exitSeen = now
            }
            if termination == nil {
                if termSent == nil {
                    if isCancelled() {
                        result.cancelled = true
                    } else if now >= deadline {
                        result.timedOut = true
                    }
                    if result.cancelled || result.timedOut {
                        kill(-child.pid, SIGTERM)
                        termSent = now
                    }
                } else if let termSent, !killSent, now - termSent >= killGrace {
                    kill(-child.pid, SIGKILL)
                    killSent = true
                }
            }
            // Daemons started by a step may keep the pipes open; the step ends with its own process.
            if let exitSeen, now - exitSeen >= .milliseconds(200) { return true }
            return false
        }
        for stream in 0..<2 where !pending[stream].isEmpty { emit(pending[stream]) }
        result.termination = termination ?? child.wait()
        if result.timedOut || result.cancelled {
            // Whatever the group left behind goes too.
            kill(-child.pid, SIGKILL)
        }
        result.tail = tail
        return result
    }
}

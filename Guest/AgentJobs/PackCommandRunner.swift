import AgentBasics
package import Subprocess
import Synchronization

/// Runs one command of a pack job to its end in its own process group (``JobProcess``), streaming its output line
/// by line.
package struct PackCommandRunner {
    /// How the command ended.
    package struct Result: Sendable {
        /// How the process ended, `nil` when it could not be started.
        package var termination: TerminationStatus?
        /// Whether the runner stopped it at its deadline.
        package var timedOut = false
        /// Whether it was stopped because the job was cancelled.
        package var cancelled = false
        /// Why it could not be started.
        package var startError: String?
        /// The last lines of its output (standard output and standard error interleaved).
        package var tail: [String] = []

        /// Whether it exited with status `code`.
        package func exited(with code: Int) -> Bool { termination == .exited(Int32(code)) }

        /// A clause such as `exited with status 3` or `timed out after 30 s`.
        package func outcome(timeout: Duration) -> String {
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
    package static let tailLines = 40
    /// Longer output lines are cut to this many bytes.
    package static let maxLineBytes = 4000

    /// Time between SIGTERM and SIGKILL to the process group.
    package var killGrace: Duration

    /// Runs `argv` until it ends, its deadline passes or `isCancelled` turns true.
    /// - Parameters:
    ///   - argv: The program (looked up in `environment`'s `PATH`) and its arguments.
    ///   - environment: The child's whole environment.
    ///   - timeout: Its deadline; the process group gets SIGTERM then, SIGKILL after ``killGrace``.
    ///   - isCancelled: Polled about every 20 ms.
    ///   - scope: The transient systemd scope to run it in (``JobProcess/jobScope(_:id:)``), or `nil`.
    ///   - onLine: Called with each complete output line (and a final partial one).
    /// - Returns: How it ended and its last lines.
    package func run(
        _ argv: [String],
        environment: [String: String],
        timeout: Duration,
        scope: String? = nil,
        isCancelled: @escaping @Sendable () -> Bool,
        onLine: @escaping @Sendable (String) -> Void
    ) async -> Result {
        var result = Result()
        let process: JobProcess
        do {
            process = try JobProcess(argv, environment: environment, scope: scope)
        } catch {
            result.startError = error.message
            return result
        }
        let lines = Mutex(Lines())
        let outcome = await process.supervise(
            timeout: timeout, killGrace: killGrace, shouldStop: isCancelled,
            onOutput: { chunk, isError in
                for line in lines.withLock({ $0.append(chunk, stream: isError ? 1 : 0) }) { onLine(line) }
            })
        for line in lines.withLock({ $0.flush() }) { onLine(line) }
        result.termination = outcome.termination
        result.startError = outcome.startError
        result.cancelled = outcome.stopped
        result.timedOut = outcome.timedOut
        result.tail = lines.withLock { $0.tail }
        return result
    }

    /// Splits the two streams into lines and keeps the last ``tailLines``.
    private struct Lines {
        var pending: [[UInt8]] = [[], []]
        var tail: [String] = []

        /// The lines `chunk` completes on `stream` (0 for standard output, 1 for standard error).
        mutating func append(_ chunk: [UInt8], stream: Int) -> [String] {
            var complete: [String] = []
            for byte in chunk {
                if byte == 0x0a {
                    complete.append(emit(pending[stream]))
                    pending[stream].removeAll(keepingCapacity: true)
                } else {
                    pending[stream].append(byte)
                }
            }
            return complete
        }

        /// The partial last lines of both streams.
        mutating func flush() -> [String] {
            var complete: [String] = []
            for stream in 0..<2 where !pending[stream].isEmpty {
                complete.append(emit(pending[stream]))
                pending[stream].removeAll()
            }
            return complete
        }

        private mutating func emit(_ bytes: [UInt8]) -> String {
            var line = String(decoding: bytes.prefix(PackCommandRunner.maxLineBytes), as: UTF8.self)
            if line.hasSuffix("\r") { line.removeLast() }
            tail.append(line)
            if tail.count > PackCommandRunner.tailLines { tail.removeFirst(tail.count - PackCommandRunner.tailLines) }
            return line
        }
    }
}

package import AgentBasics
package import Subprocess
import Synchronization

extension JobProcess {
    /// What a short command printed and how it ended.
    package struct Output: Sendable {
        package var termination: TerminationStatus
        package var stdout: String
        package var stderr: String
    }

    /// How much of each stream ``output(of:timeout:)`` keeps: 1 MiB.
    package static let outputLimit = 1 << 20

    /// Runs a short command (`systemctl`, `groupadd`) with the agent's environment and working directory to its end
    /// and collects its output (up to ``outputLimit`` bytes of each stream).
    /// - Parameters:
    ///   - argv: The program (looked up in the agent's `PATH`) and its arguments.
    ///   - timeout: After this its process group is killed (SIGKILL).
    /// - Throws: ``AgentError`` (`command_failed`) with the program's name when it cannot be started.
    package static func output(of argv: [String], timeout: Duration) async throws(AgentError) -> Output {
        let process = try JobProcess(argv)
        let kept = Mutex<(stdout: [UInt8], stderr: [UInt8])>(([], []))
        let outcome = await process.supervise(timeout: timeout, killGrace: .zero, shouldStop: { false }) {
            chunk, isError in
            kept.withLock { kept in
                if isError {
                    kept.stderr.append(contentsOf: chunk.prefix(max(0, outputLimit - kept.stderr.count)))
                } else {
                    kept.stdout.append(contentsOf: chunk.prefix(max(0, outputLimit - kept.stdout.count)))
                }
            }
        }
        guard let termination = outcome.termination else {
            throw AgentError(.commandFailed, outcome.startError ?? "cannot start '\(argv[0])'")
        }
        let (stdout, stderr) = kept.withLock { ($0.stdout, $0.stderr) }
        return Output(
            termination: termination, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }
}

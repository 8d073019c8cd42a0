import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import ArgumentParser
import Curl
import Foundation
import SupervisorCore

/// `somnus exec VM -- CMD ARGS…`: runs a program in the guest, streaming its output.
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a VM through its agent, stream its output and exit with its exit code.",
        discussion: "Example: somnus exec demo -- uname -a; somnus exec demo --user nobody -- id")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Seconds before the agent stops the command.") var timeout = 3600
    @Option(help: "Working directory in the guest.") var cwd: String?
    @Option(help: "The guest user (name or uid) the command runs as; root when absent.") var user: String?
    @Argument(help: "The VM's name.") var vm: String
    @Argument(parsing: .postTerminator, help: "The program and its arguments, after `--`.") var command: [String]

    func run() async throws {
        var exitCode: Int32 = 0
        try await options.run { logger throws(SupervisorError) in
            let argv = command
            guard !argv.isEmpty else {
                throw SupervisorError(.invalidArgument, "no command given; use `somnus exec \(vm) -- CMD ARGS…`")
            }
            let manager = try await options.manager(logger)
            let record = try manager.record(vm)
            guard let address = record.address else {
                throw SupervisorError(.invalidState, "'\(vm)' has no agent deployed yet (`somnus agent deploy`)")
            }
            let client = try AgentConnector(manager: manager).client(for: record, address: address)
            do {
                let request = ExecRequest(argv: argv, cwd: cwd, timeoutSeconds: timeout, user: user)
                let job = try await client.call { try await $0.startExec(body: .json(request)).accepted.body.json }
                var offsets: [Operations.GetExecOutput.Input.Query.StreamPayload: Int] = [.stdout: 0, .stderr: 0]
                var done = false
                while !done {
                    done = true
                    for stream in [Operations.GetExecOutput.Input.Query.StreamPayload.stdout, .stderr] {
                        // The agent holds the answer up to `wait` for output to arrive.
                        let wait = stream == .stdout ? 500 : 0
                        let query = Operations.GetExecOutput.Input.Query(
                            offset: Int64(offsets[stream] ?? 0), waitMs: Int64(wait), stream: stream)
                        let chunk = try await client.call(timeout: client.timeout + .milliseconds(wait)) {
                            try await $0.getExecOutput(path: .init(id: job.id), query: query).ok.body.json
                        }
                        offsets[stream] = chunk.nextOffset
                        if !chunk.data.isEmpty {
                            let handle = stream == .stdout ? FileHandle.standardOutput : FileHandle.standardError
                            handle.write(Data(chunk.data.utf8))
                        }
                        done = done && chunk.complete
                    }
                }
                let final = try await client.call { try await $0.getExecJob(path: .init(id: job.id)).ok.body.json }
                exitCode = ExecCommand.exitStatus(of: final)
                if let error = final.error {
                    Output.note("error: \(error)")
                }
            } catch let error as CurlError {
                throw SupervisorError(.agent, "exec in '\(vm)' failed: \(AgentClient.message(of: error))")
            } catch {
                throw SupervisorError(.agent, "exec in '\(vm)' failed", cause: error)
            }
        }
        if exitCode != 0 {
            throw ExitCode(exitCode)
        }
    }

    /// The shell-style exit status for a finished job: its exit code, 128 + signal, 124 on timeout,
    /// 127 when it could not start and 130 when cancelled.
    static func exitStatus(of job: ExecJobResponse) -> Int32 {
        switch job.state {
        case .exited:
            if let code = job.exitCode { return Int32(truncatingIfNeeded: code) }
            return Int32(128 + (job.signal ?? 0))
        case .timedOut: return 124
        case .failedToStart: return 127
        case .cancelled: return 130
        case .running: return 1
        }
    }
}

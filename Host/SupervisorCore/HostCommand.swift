import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Runs host programs (`qemu-img`, the image builder) and turns failures into ``SupervisorError``.
enum HostCommand {
    /// Runs a program to completion and returns its standard output.
    /// - Parameters:
    ///   - program: The program, looked up on `PATH` unless it contains a `/`.
    ///   - arguments: Its arguments.
    /// - Throws: ``SupervisorError/Code/hostCommand`` with the exit status and standard error.
    @discardableResult
    static func run(_ program: String, _ arguments: [String]) async throws(SupervisorError) -> String {
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        do {
            let result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), output: .string(limit: 1 << 20),
                error: .string(limit: 1 << 20))
            guard case .exited(0) = result.terminationStatus else {
                let stderr = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
                throw SupervisorError(
                    .hostCommand,
                    "\(program) \(arguments.joined(separator: " ")) failed (\(result.terminationStatus)): \(stderr)")
            }
            return result.standardOutput
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError(.hostCommand, "cannot run \(program)", cause: error)
        }
    }

    /// Runs a program, handing each line of its standard output and error to `onLine` as it arrives.
    /// - Throws: ``SupervisorError/Code/hostCommand`` when it exits non-zero; the message ends with its last lines.
    static func stream(
        _ program: String, _ arguments: [String], onLine: @escaping @Sendable (String) -> Void
    ) async throws(SupervisorError) {
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        do {
            let result = try await Subprocess.run(
                executable, arguments: Arguments(arguments), input: .none, output: .sequence, error: .sequence
            ) { execution in
                try await withThrowingTaskGroup(of: [String].self) { group in
                    group.addTask {
                        for try await line in execution.standardOutput.strings() {
                            onLine(line)
                        }
                        return []
                    }
                    group.addTask {
                        var tail: [String] = []
                        for try await line in execution.standardError.strings() {
                            onLine(line)
                            tail.append(line)
                            if tail.count > 20 { tail.removeFirst() }
                        }
                        return tail
                    }
                    var tail: [String] = []
                    for try await lines in group { tail += lines }
                    return tail
                }
            }
            guard case .exited(0) = result.terminationStatus else {
                throw SupervisorError(
                    .hostCommand,
                    "\(program) failed (\(result.terminationStatus)):\n" + result.closureResult.joined(separator: "\n"))
            }
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError(.hostCommand, "cannot run \(program)", cause: error)
        }
    }
}

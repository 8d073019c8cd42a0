import Foundation
import Subprocess

#if canImport(System)
    import System
#else
    import SystemPackage
#endif

/// Runs the pack cache's host programs (`apt-get`, `pip`, `dpkg-scanpackages`, `gpg`) non-interactively, in a given
/// working directory, and turns failures into ``SupervisorError`` with the program's standard error.
enum PackHostCommand {
    /// Runs a program to completion and returns its standard output.
    /// - Parameters:
    ///   - program: The program, looked up on `PATH`.
    ///   - arguments: Its arguments.
    ///   - workingDirectory: Where it runs; the current directory when `nil`.
    ///   - environment: Variables set on top of the inherited environment (such as `GNUPGHOME`).
    /// - Throws: ``SupervisorError/Code/hostCommand`` whose message ends with the program's standard error.
    @discardableResult
    static func run(
        _ program: String, _ arguments: [String], workingDirectory: String? = nil,
        environment: [String: String] = [:]
    ) async throws(SupervisorError) -> String {
        var variables: [Environment.Key: String?] = ["DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"]
        for (name, value) in environment {
            guard let key = Environment.Key(rawValue: name) else { continue }
            variables[key] = value
        }
        do {
            let result = try await Subprocess.run(
                .name(program), arguments: Arguments(arguments), environment: .inherit.updating(variables),
                workingDirectory: workingDirectory.map { FilePath($0) }, output: .string(limit: 16 << 20),
                error: .string(limit: 1 << 20))
            guard case .exited(0) = result.terminationStatus else {
                let stderr = result.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
                let stdout = result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
                throw SupervisorError(
                    .hostCommand,
                    "\(program) failed (\(result.terminationStatus)):\n\(stderr.isEmpty ? stdout : stderr)")
            }
            return result.standardOutput
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError(.hostCommand, "cannot run \(program)", cause: error)
        }
    }
}

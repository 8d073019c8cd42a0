@testable import SSH

/// Runs a program and returns its standard output and error.
func runProgram(_ path: String, _ arguments: [String]) throws -> String {
    try SSHChildProcess.run(path, arguments, mergeStandardOutput: true).standardError
}

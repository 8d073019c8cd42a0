import AgentBasics
import AgentCore
import ArgumentParser

/// `somnus-agent request METHOD PATH`: one request to the running agent over its unix socket, as whoever runs it
/// (the agent applies that user's rights); prints the status on the first line and the body after it.
struct RequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request",
        abstract: "Send one request to the agent over its unix socket and print the status and the body.",
        discussion: "Exit status: 0 for a 2xx answer, 1 for any other answer or when the agent cannot be reached."
    )

    @Argument(help: "The HTTP method, such as GET or POST.")
    var method: String

    @Argument(help: "The path with its query, such as /v1/health/live.")
    var path: String

    @Option(help: "A JSON request body.")
    var data: String?

    @Option(help: "The agent's unix socket.")
    var socket = "/run/somnus/agent.sock"

    func validate() throws {
        guard !method.isEmpty, method.allSatisfy({ $0.isLetter && $0.isUppercase }) else {
            throw ValidationError("method: '\(method)' is not an upper-case HTTP method")
        }
        guard path.hasPrefix("/"), !path.contains(where: { $0.isWhitespace }) else {
            throw ValidationError("path: '\(path)' must start with / and contain no spaces")
        }
    }

    func run() async throws {
        let response: AgentSocketResponse
        do {
            response = try await AgentSocketClient(socketPath: socket).send(
                method, path, body: data.map { Array($0.utf8) })
        } catch {
            StandardStreams.writeError("somnus-agent: \(error.message)\n")
            throw ExitCode(1)
        }
        StandardStreams.write(Array("\(response.status)\n".utf8) + response.body)
        if !response.isSuccess { throw ExitCode(1) }
    }
}

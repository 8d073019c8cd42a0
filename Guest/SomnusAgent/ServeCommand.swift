import AgentBasics
import AgentCore
import AgentSystem
import ArgumentParser
import Logging

/// `somnus-agent serve`: runs the agent until SIGTERM.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the agent.")

    @OptionGroup var options: ConfigurationOptions

    func run() async throws {
        let source = AgentConfiguration.Source(path: options.configPath, overrides: options.overrides)
        let configuration: AgentConfiguration
        do {
            configuration = try source.load()
        } catch {
            StandardStreams.writeError("somnus-agent: invalid configuration: \(error.message)\n")
            throw ExitCode(2)
        }
        // Before the server starts its threads: stacks that never take a huge page.
        AgentFootprint.limitThreadStacks()
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        let logger = Logger(label: "somnus-agent")
        // Once start-up is over (listeners bound, memory store open, first monitor sample), give back its freed
        // heap pages and the pages of code and constants only start-up used; once more after the first requests,
        // for what only they ran.
        try await AgentServer(configuration: configuration, configurationSource: source, logger: logger).run(
            onSettled: {
                AgentFootprint.releaseStartUpMemory()
            },
            onFirstAnswer: {
                AgentFootprint.releaseStartUpMemory()
            })
    }
}

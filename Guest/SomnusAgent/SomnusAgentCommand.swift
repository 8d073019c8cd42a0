import AgentAPI
import ArgumentParser

/// The root of the `somnus-agent` command line.
@main
struct SomnusAgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "somnus-agent",
        abstract: "The Somnus guest agent: health, monitoring, exec jobs and memory inside a VM.",
        version: AgentProtocol.somnusVersion,
        subcommands: [
            ServeCommand.self, InstallCommand.self, ThawCommand.self, ClassifyCommand.self, MemoryCommand.self,
            MCPCommand.self, RequestCommand.self,
        ]
    )
}

import AgentAPI
import ArgumentParser

/// The root of the `somnus` command line.
@main
struct SomnusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "somnus",
        abstract: "Run AI agents' persistent virtual machines: create, snapshot, deploy the agent, watch health.",
        version: AgentProtocol.somnusVersion,
        subcommands: [
            UpCommand.self, DownCommand.self, VMCommand.self, ImageCommand.self, AgentCommand.self,
            SnapshotCommand.self, ExecCommand.self, HealthCommand.self, DaemonCommand.self, PacksCommand.self,
            SoftRebootCommand.self, ErrorsCommand.self,
        ]
    )
}

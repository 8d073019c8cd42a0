import AgentAPI
import ArgumentParser

/// The root of the `somnus` command line.
@main
struct SomnusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "somnus",
        abstract: "Run AI agents' persistent virtual machines: create, snapshot, deploy the agent, watch health.",
        discussion: """
            Global options (--state-dir, --libvirt-uri, --profiles, --json, -v) go before or after the subcommand.

            Example: somnus up demo && somnus exec demo -- uname -a
            """,
        version: AgentProtocol.somnusVersion,
        subcommands: [
            UpCommand.self, DownCommand.self, VMCommand.self, ImageCommand.self, AgentCommand.self,
            SnapshotCommand.self, ExecCommand.self, HealthCommand.self, DaemonCommand.self, PoolCommand.self,
            PacksCommand.self,
            SoftRebootCommand.self, ErrorsCommand.self,
        ]
    )

    /// Parses the command line with the global options moved behind the subcommand, then runs it.
    static func main() async {
        await main(GlobalArguments.reorder(Array(CommandLine.arguments.dropFirst()), root: SomnusCommand.self))
    }
}

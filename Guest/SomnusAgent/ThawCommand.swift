import AgentSystem
import ArgumentParser

/// `somnus-agent thaw`: thaws every freezable filesystem (the unit's `ExecStopPost`, so a killed agent never
/// leaves the VM frozen), prints each one that was frozen, and exits 0.
struct ThawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "thaw", abstract: "Thaw every frozen filesystem (run by the unit after the agent stops).")

    @Option(help: "The mount table to read.")
    var mounts = "/proc/self/mounts"

    @Option(
        help: ArgumentHelp(
            "Guard a freeze: wait until the agent exits, a TERM, INT or HUP arrives, or this many seconds pass; then"
                + " thaw silently (the agent starts one per freeze).", valueName: "seconds"))
    var guardSeconds: Int?

    @Option(help: "With --guard-seconds: the agent's process id.")
    var agentPID: Int32?

    func validate() throws {
        if guardSeconds != nil, agentPID == nil { throw ValidationError("--guard-seconds needs --agent-pid") }
    }

    func run() {
        if let guardSeconds, let agentPID {
            _ = ThawGuard.hold(agent: agentPID, timeout: .seconds(guardSeconds))
            _ = IoctlFilesystemFreezer(mountsFile: mounts).thawAll()
            return
        }
        let thawed = IoctlFilesystemFreezer(mountsFile: mounts).thawAll()
        for mountPoint in thawed { print("thawed \(mountPoint)") }
        if thawed.isEmpty { print("nothing was frozen") }
    }
}

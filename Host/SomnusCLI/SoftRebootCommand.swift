import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import ArgumentParser
import Curl
import Foundation
import SupervisorCore

/// `somnus soft-reboot VM [UNIT…]`.
struct SoftRebootCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soft-reboot",
        abstract:
            "Restart systemd units in a VM through its agent (every monitored unit when none are named) "
            + "and show whether each came back, without rebooting the VM.",
        discussion: "Example: somnus soft-reboot demo ssh.service")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Argument(help: "Units to restart, such as nginx.service (default: the agent's monitored units).")
    var units: [String] = []
    @Option(help: "Seconds to wait for the restarts.") var timeout = 180

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            let manager = try await options.manager(logger)
            let record = try manager.record(vm)
            guard let address = record.address else {
                throw SupervisorError(.invalidState, "'\(vm)' has no agent deployed yet (`somnus agent deploy`)")
            }
            let client = try AgentConnector(manager: manager).client(for: record, address: address)
            let progress = ProgressLine(enabled: !options.json)
            defer { progress.finish() }
            progress.update("\(vm): restarting \(units.isEmpty ? "monitored units" : units.joined(separator: " "))")
            let answer: SoftRebootResponse
            do throws(CurlError) {
                let request = SoftRebootRequest(units: units.isEmpty ? nil : units)
                answer = try await client.call(timeout: .seconds(timeout)) {
                    try await $0.softReboot(body: .json(request)).ok.body.json
                }
            } catch {
                throw SupervisorError(
                    .agent, "soft reboot of '\(vm)' failed: \(AgentClient.message(of: error))", cause: error)
            }
            progress.finish()
            try options.emit(answer)
            let failed = answer.units.filter { !$0.active }.map(\.name)
            guard failed.isEmpty else {
                throw SupervisorError(.agent, "not back after the restart: \(failed.joined(separator: ", "))")
            }
        }
    }
}

extension SoftRebootResponse: CommandOutput {
    var text: String {
        Output.table(
            ["UNIT", "STATE", "BACK", "ERROR"],
            units.map { [$0.name, $0.activeState, $0.active ? "yes" : "no", $0.error ?? ""] })
    }
}

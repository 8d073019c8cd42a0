import AgentAPI
import ArgumentParser
import Curl
import Foundation
import SupervisorCore

/// `somnus errors VM [--category C] [--since T] [--limit N] [--json]`: the guest's recent classified errors.
struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "Show the errors the VM's agent classified in its logs and journal, newest first.",
        discussion: "Example: somnus errors demo --limit 20")
    /// The category spellings the agent accepts.
    static let categories = ["CUDA_ERROR", "NETWORK_FAILURE", "DEPENDENCY_MISSING", "RUNTIME_ERROR", "OTHER"]

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(help: "Only this category: CUDA_ERROR, NETWORK_FAILURE, DEPENDENCY_MISSING, RUNTIME_ERROR or OTHER.")
    var category: String?
    @Option(help: "Only errors last seen at or after this time: ISO 8601 (2026-01-02T03:04:05Z) or Unix seconds.")
    var since: String?
    @Option(help: "The most errors to show, 1 to 1000.") var limit = 50

    /// Checks the options' values.
    /// - Throws: ``SupervisorError`` (`invalid_argument`) naming the option and the bad value.
    func checkOptions() throws(SupervisorError) {
        if let category, !Self.categories.contains(category.uppercased()) {
            throw SupervisorError(
                .invalidArgument,
                "--category: must be one of \(Self.categories.joined(separator: ", ")), not '\(category)'")
        }
        guard (1...1000).contains(limit) else {
            throw SupervisorError(.invalidArgument, "--limit: must be from 1 to 1000, not \(limit)")
        }
    }

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            try checkOptions()
            let manager = try await options.manager(logger)
            let record = try manager.record(vm)
            guard let address = record.address else {
                throw SupervisorError(.invalidState, "'\(vm)' has no agent deployed yet (`somnus agent deploy`)")
            }
            let client = try AgentConnector(manager: manager).client(for: record, address: address)
            let response: ErrorsResponse
            do throws(CurlError) {
                response = try await client.errors(since: since, category: category?.uppercased(), limit: limit)
            } catch {
                if error.status == 400,
                    let detail = try? JSONDecoder().decode(APIErrorBody.self, from: Data(error.body))
                {
                    throw SupervisorError(.invalidArgument, detail.error.message)
                }
                throw SupervisorError(.agent, "the agent of '\(vm)' did not answer", cause: error)
            }
            try options.emit(response)
        }
    }

    static func shortened(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }
}

extension ErrorsResponse: CommandOutput {
    /// One aligned row per error, then the counts per category.
    var text: String {
        let rows = errors.map { entry in
            [
                Date(timeIntervalSince1970: entry.lastSeen).formatted(.iso8601), String(entry.count),
                entry.classification.category, entry.classification.kind, entry.source,
                ErrorsCommand.shortened(entry.line, to: 100),
            ]
        }
        let counts = counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return Output.table(["LAST SEEN", "COUNT", "CATEGORY", "KIND", "SOURCE", "LINE"], rows) + "\n"
            + "counts: " + (counts.isEmpty ? "none" : counts.joined(separator: " "))
    }
}

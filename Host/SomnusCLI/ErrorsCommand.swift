import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import ArgumentParser
import Curl
import Foundation
import Logging
import SupervisorCore

/// `somnus errors`: the guest's recent classified errors with their recorded fixes (`errors [list] VM`), and
/// `errors fix` to record one.
struct ErrorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "errors",
        abstract: "Show the errors the VM's agent classified in its logs and journal, newest first, with their fixes.",
        discussion: """
            Each error lists up to 3 fixes recorded for the same template or, below those, for another template of \
            the same kind; `somnus errors fix` records one.

            Example: somnus errors demo --limit 20
            """,
        subcommands: [ErrorsListCommand.self, ErrorsFixCommand.self],
        defaultSubcommand: ErrorsListCommand.self)

    /// A client for the agent of `vm`.
    /// - Throws: ``SupervisorError``: an unknown VM, or one whose agent was never deployed.
    static func client(_ vm: String, options: GlobalOptions, logger: Logger) async throws(SupervisorError)
        -> AgentClient
    {
        let manager = try await options.manager(logger)
        let record = try manager.record(vm)
        guard let address = record.address else {
            throw SupervisorError(.invalidState, "'\(vm)' has no agent deployed yet (`somnus agent deploy`)")
        }
        return try AgentConnector(manager: manager).client(for: record, address: address)
    }

    /// The error of a failed call to the agent of `vm`: its message for a bad value (400), else what went wrong.
    static func failure(_ error: CurlError, vm: String) -> SupervisorError {
        guard error.status != 0, let detail = try? JSONDecoder().decode(APIErrorBody.self, from: Data(error.body))
        else {
            return SupervisorError(.agent, "the agent of '\(vm)' did not answer", cause: error)
        }
        switch error.status {
        case 400: return SupervisorError(.invalidArgument, detail.error.message)
        case 404:
            return SupervisorError(
                .agent, "the agent of '\(vm)' cannot record fixes; deploy a newer one (`somnus agent deploy`)",
                cause: error)
        default:
            return SupervisorError(.agent, "the agent of '\(vm)': \(detail.error.message)", cause: error)
        }
    }

    static func shortened(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)) + "…"
    }
}

/// `somnus errors [list] VM [--category C] [--since T] [--limit N] [--json]`: the recent errors and their fixes.
struct ErrorsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Show the errors the VM's agent classified in its logs and journal, newest first, with their fixes.",
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
            let client = try await ErrorsCommand.client(vm, options: options, logger: logger)
            let response: ErrorsResponse
            do throws(CurlError) {
                let query = Operations.ListErrors.Input.Query(
                    since: since, category: category?.uppercased(), limit: limit)
                response = try await client.call { try await $0.listErrors(query: query).ok.body.json }
            } catch {
                throw ErrorsCommand.failure(error, vm: vm)
            }
            try options.emit(response)
        }
    }
}

/// `somnus errors fix VM (--template T | --line L) TEXT [--json]`: records what fixed an error.
struct ErrorsFixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fix",
        abstract: "Record what fixed an error, so that its next occurrence in `somnus errors` lists it.",
        discussion: """
            Give the error's template as `somnus errors --json` shows it, or a raw error line for the agent to \
            classify. The fix is kept in the VM's memory (an error_fix memory in the namespace 'errors').

            Example: somnus errors fix demo --line "ModuleNotFoundError: No module named 'torch'" "pip install torch"
            """)

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The VM's name.") var vm: String
    @Option(help: "The error's template, as `somnus errors --json` shows it.") var template: String?
    @Option(help: "A raw error line; the agent classifies it to find its template.") var line: String?
    @Option(help: "A label for the fix (repeatable).") var tag: [String] = []
    @Argument(help: "What fixed the error.") var text: String

    /// Checks that exactly one of `--template` and `--line` is given and that the fix is not blank.
    /// - Throws: ``SupervisorError`` (`invalid_argument`) naming the option.
    func checkOptions() throws(SupervisorError) {
        switch (template, line) {
        case (nil, nil): throw SupervisorError(.invalidArgument, "--template or --line: one of them is required")
        case (.some, .some): throw SupervisorError(.invalidArgument, "--template, --line: give only one of them")
        default: break
        }
        guard !text.allSatisfy(\.isWhitespace) else {
            throw SupervisorError(.invalidArgument, "<text>: the fix must not be empty")
        }
    }

    func run() async throws {
        try await options.run { logger throws(SupervisorError) in
            try checkOptions()
            let client = try await ErrorsCommand.client(vm, options: options, logger: logger)
            let response: ErrorFixResponse
            do throws(CurlError) {
                let request = ErrorFixRequest(fix: text, template: template, line: line, tags: tag.isEmpty ? nil : tag)
                response = try await client.call { try await $0.recordErrorFix(body: .json(request)).created.body.json }
            } catch {
                throw ErrorsCommand.failure(error, vm: vm)
            }
            try options.emit(response)
        }
    }
}

extension ErrorsResponse: CommandOutput {
    /// One aligned row per error, the fixes of those that have some, then the counts per category.
    var text: String {
        let rows = errors.map { entry in
            [
                Date(timeIntervalSince1970: entry.lastSeen).formatted(.iso8601), String(entry.count),
                entry.classification.category, entry.classification.kind, entry.source, String(entry.fixes.count),
                ErrorsCommand.shortened(entry.line, to: 100),
            ]
        }
        var fixes: [String] = []
        for entry in errors where !entry.fixes.isEmpty {
            fixes.append("  " + ErrorsCommand.shortened(entry.line, to: 100))
            for fix in entry.fixes {
                let firstLine = fix.fix.split(separator: "\n", omittingEmptySubsequences: false).first ?? ""
                fixes.append(
                    "    " + fix.match.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)
                        + String(format: "%.2f  ", fix.score) + ErrorsCommand.shortened(String(firstLine), to: 100))
            }
        }
        let counts = counts.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return Output.table(["LAST SEEN", "COUNT", "CATEGORY", "KIND", "SOURCE", "FIXES", "LINE"], rows) + "\n"
            + (fixes.isEmpty ? "" : "fixes:\n" + fixes.joined(separator: "\n") + "\n")
            + "counts: " + (counts.isEmpty ? "none" : counts.joined(separator: " "))
    }
}

extension ErrorFixResponse: CommandOutput {
    /// The memory holding the fix and its template.
    var text: String {
        "recorded fix \(fix.memoryID) for template '\(fix.template)'"
    }
}

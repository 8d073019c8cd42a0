import AgentAPI
import Foundation
import Testing

@testable import AgentCore

/// The built `somnus-agent` binary.
let memoryAgentBinary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build/debug/somnus-agent").path

/// What one run of the binary printed and how it ended.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the `somnus-agent` binary with `arguments`, feeding `input` on stdin.
func runAgentBinary(_ arguments: [String], input: Data = Data()) async throws -> CommandResult {
    try await onThread {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: memoryAgentBinary)
        process.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        stdin.fileHandleForWriting.write(input)
        try stdin.fileHandleForWriting.close()
        let errors = ResultBox<Data>()
        let reader = Thread { errors.set(stderr.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errors.get() == nil { Thread.sleep(forTimeInterval: 0.01) }
        return CommandResult(
            status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
            stderr: String(decoding: errors.get() ?? Data(), as: UTF8.self))
    }
}

@Suite(
    "somnus-agent memory",
    .timeLimit(.minutes(3)),
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: memoryAgentBinary), "build the somnus-agent product first")
)
struct MemoryCLITests {
    @Test("add, search, get, stats, forget with text and --json output over the unix socket")
    func commands() async throws {
        try await AgentHarness.with { agent in
            let socket = ["--socket", agent.endpoints.socketPath]
            let added = try await runAgentBinary(
                ["memory", "add", "--namespace", "cli", "--tag", "editor", "--importance", "high"] + socket
                    + ["The user prefers vim over emacs"])
            #expect(added.status == 0, "\(added.stderr)")
            #expect(added.stdout.hasPrefix("created "))
            let id = String(added.stdout.dropFirst("created ".count)).trimmingCharacters(in: .whitespacesAndNewlines)

            let json = try await runAgentBinary(
                ["memory", "add", "--namespace", "cli", "--json"] + socket + ["-"],
                input: Data("Builds use swift 6.3\n".utf8))
            #expect(json.status == 0)
            let created = try JSONDecoder().decode(MemoryCreateResponse.self, from: Data(json.stdout.utf8))
            #expect(created.memory.content.hasPrefix("Builds use swift 6.3"))

            let search = try await runAgentBinary(["memory", "search", "--namespace", "cli"] + socket + ["vim editor"])
            #expect(search.status == 0)
            #expect(search.stdout.contains(id))
            #expect(search.stdout.contains("The user prefers vim over emacs"))

            let searchJSON = try await runAgentBinary(
                ["memory", "search", "--namespace", "cli", "--json", "--limit", "1"] + socket + ["vim"])
            let hits = try JSONDecoder().decode(MemorySearchResponse.self, from: Data(searchJSON.stdout.utf8))
            #expect(hits.hits.count == 1)

            let get = try await runAgentBinary(["memory", "get", "--namespace", "cli"] + socket + [id])
            #expect(get.status == 0)
            #expect(get.stdout.contains("importance:  high"))
            #expect(get.stdout.contains("tags:        editor"))

            let stats = try await runAgentBinary(["memory", "stats"] + socket)
            #expect(stats.stdout.contains("total:        2"))
            #expect(stats.stdout.contains("namespaces:   cli=2"))

            let forget = try await runAgentBinary(["memory", "forget", "--namespace", "cli"] + socket + [id])
            #expect(forget.status == 0)
            #expect(forget.stdout == "forgot \(id)\n")

            let missing = try await runAgentBinary(["memory", "get", "--namespace", "cli"] + socket + [id])
            #expect(missing.status == 1)
            #expect(missing.stderr.hasPrefix("somnus-agent: not_found: "))
        }
    }

    @Test("export, import, remember-turn and rotate-key")
    func exportImport() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString).jsonl")
        defer { try? FileManager.default.removeItem(at: file) }
        try await AgentHarness.with { agent in
            let socket = ["--socket", agent.endpoints.socketPath]
            let turn = try await runAgentBinary(
                ["memory", "remember-turn", "--namespace", "chat"] + socket
                    + ["--user", "I work at Initech and I prefer tabs.", "--assistant", "Noted."])
            #expect(turn.status == 0, "\(turn.stderr)")
            #expect(turn.stdout.hasPrefix("stored turn "))
            let export = try await runAgentBinary(["memory", "export", "--output", file.path] + socket)
            #expect(export.status == 0)
            #expect(export.stdout.hasPrefix("exported "))
            let permissions = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
            #expect(permissions == 0o600)
            let rotate = try await runAgentBinary(["memory", "rotate-key", "--json"] + socket)
            #expect(rotate.status == 0)
            #expect(
                try JSONDecoder().decode(MemoryRotateKeyResponse.self, from: Data(rotate.stdout.utf8)).reencrypted > 0)
        }
        try await AgentHarness.with { agent in
            let socket = ["--socket", agent.endpoints.socketPath]
            let imported = try await runAgentBinary(["memory", "import"] + socket + [file.path])
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stdout.hasPrefix("imported "))
            #expect(imported.stdout.hasSuffix(", skipped 0\n"))
            let stdout = try await runAgentBinary(["memory", "export", "--namespace", "chat"] + socket)
            #expect(stdout.stdout.contains("Initech"))
        }
    }

    @Test("A command waits while the agent's store is still opening, then succeeds")
    func waitsForOpening() async throws {
        let gate = MemoryOpenGate()
        defer { gate.release() }
        try await AgentHarness.withData(seed: { _ in }, memoryWillOpen: { gate.wait() }, waitForMemory: false) {
            agent in
            let socket = ["--socket", agent.endpoints.socketPath]
            let started = ContinuousClock.now
            async let stats = runAgentBinary(["memory", "stats", "--json"] + socket)
            try await Task.sleep(for: .milliseconds(1_500))
            let stillOpening = try await agent.unixRequest("\(MemoryHandler.base)/stats")
            #expect(try stillOpening.error().code == "memory_opening")
            gate.release()
            let result = try await stats
            #expect(result.status == 0, "\(result.stderr)")
            #expect(ContinuousClock.now - started >= .milliseconds(1_500))
            #expect(try JSONDecoder().decode(MemoryStatsResponse.self, from: Data(result.stdout.utf8)).total == 0)
        }
    }

    @Test("Bad input exits 2, an unreachable agent exits 1, each with the reason")
    func failures() async throws {
        try await AgentHarness.with { agent in
            let socket = ["--socket", agent.endpoints.socketPath]
            let empty = try await runAgentBinary(["memory", "add"] + socket + [""])
            #expect(empty.status == 2)
            #expect(empty.stderr.hasPrefix("somnus-agent: invalid_input: "))
            let namespace = try await runAgentBinary(["memory", "add", "--namespace", "no spaces"] + socket + ["x"])
            #expect(namespace.status == 2)
            #expect(namespace.stderr.contains("namespace"))
            let large = try await runAgentBinary(
                ["memory", "add"] + socket + ["-"], input: Data(String(repeating: "y", count: 70_000).utf8))
            #expect(large.status == 2)
            #expect(large.stderr.hasPrefix("somnus-agent: too_large: "))
            let meta = try await runAgentBinary(["memory", "add", "--meta", "novalue"] + socket + ["x"])
            #expect(meta.status == 2)
            #expect(meta.stderr == "somnus-agent: --meta: 'novalue' is not KEY=VALUE\n")
        }
        let unreachable = try await runAgentBinary(["memory", "stats", "--socket", "/nonexistent/agent.sock"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot connect to the agent at /nonexistent/agent.sock"))
    }

    @Test("Every memory subcommand has --help text")
    func help() async throws {
        for command in [
            "add", "search", "get", "forget", "stats", "export", "import", "rotate-key", "remember-turn",
        ] {
            let result = try await runAgentBinary(["memory", command, "--help"])
            #expect(result.status == 0)
            #expect(result.stdout.contains("USAGE: somnus-agent memory \(command)"), "\(command)")
            #expect(result.stdout.contains("--socket"))
        }
        let mcp = try await runAgentBinary(["mcp", "--help"])
        #expect(mcp.stdout.contains("memory_store"))
    }
}

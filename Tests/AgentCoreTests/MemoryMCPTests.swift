import AgentAPI
import Foundation
import Testing

@testable import AgentCore

/// A running `somnus-agent mcp` child driven over its stdin and stdout.
final class MCPChild: @unchecked Sendable {
    // @unchecked Sendable: one test drives the child from one task at a time; `pending` is only touched in
    // `readLine`, which callers never run concurrently.
    let process = Process()
    private let stdin = Pipe()
    private let stdout = Pipe()
    private var pending: [UInt8] = []

    init(socket: String) throws {
        process.executableURL = URL(fileURLWithPath: memoryAgentBinary)
        process.arguments = ["mcp", "--socket", socket]
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Sends one JSON-RPC message as a line.
    func send(_ json: String) throws {
        try stdin.fileHandleForWriting.write(contentsOf: Data((json + "\n").utf8))
    }

    /// Sends a request and returns the answer with the same id (skipping notifications).
    func request(id: Int, method: String, params: String) async throws -> [String: Any] {
        try send(#"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#)
        while true {
            let line = try await onThread { self.readLine() }
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            if object["id"] as? Int == id { return object }
        }
    }

    /// Blocks until a whole line arrives on stdout.
    func readLine() -> String {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                return line
            }
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty { return "" }
            pending.append(contentsOf: chunk)
        }
    }

    /// Closes stdin and waits for the exit status.
    func finish() async throws -> Int32 {
        try stdin.fileHandleForWriting.close()
        return try await onThread {
            self.process.waitUntilExit()
            return self.process.terminationStatus
        }
    }
}

@Suite(
    "somnus-agent mcp",
    .timeLimit(.minutes(3)),
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: memoryAgentBinary), "build the somnus-agent product first")
)
struct MemoryMCPTests {
    @Test("initialize, tools/list, tools/call memory_store then memory_search, recent_errors, memory_forget")
    func session() async throws {
        try await AgentHarness.with { agent in
            let child = try MCPChild(socket: agent.endpoints.socketPath)
            let initialized = try await child.request(
                id: 1, method: "initialize",
                params: #"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}"#)
            let info = try #require((initialized["result"] as? [String: Any])?["serverInfo"] as? [String: Any])
            #expect(info["name"] as? String == "somnus-agent")
            #expect((initialized["result"] as? [String: Any])?["protocolVersion"] as? String == "2025-06-18")
            try child.send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)

            let list = try await child.request(id: 2, method: "tools/list", params: "{}")
            let tools = try #require((list["result"] as? [String: Any])?["tools"] as? [[String: Any]])
            #expect(
                Set(tools.compactMap { $0["name"] as? String })
                    == ["memory_store", "memory_search", "memory_forget", "recent_errors", "record_fix"])

            let stored = try await child.request(
                id: 3, method: "tools/call",
                params:
                    #"{"name":"memory_store","arguments":{"content":"The staging database lives on db-7","tags":["ops"]}}"#
            )
            let storedText = try Self.text(stored)
            #expect(storedText.isError == false)
            let created = try JSONDecoder().decode(MemoryCreateResponse.self, from: Data(storedText.text.utf8))
            #expect(created.outcome == .created)

            let searched = try await child.request(
                id: 4, method: "tools/call",
                params: #"{"name":"memory_search","arguments":{"query":"where is the staging database"}}"#)
            let searchText = try Self.text(searched)
            let hits = try JSONDecoder().decode(MemorySearchResponse.self, from: Data(searchText.text.utf8))
            #expect(hits.hits.first?.memory.id == created.memory.id)

            let errors = try await child.request(
                id: 5, method: "tools/call", params: #"{"name":"recent_errors","arguments":{}}"#)
            let errorsText = try Self.text(errors)
            if errorsText.isError {
                #expect(errorsText.text.contains("/v1/errors"))
            }

            let bad = try await child.request(
                id: 6, method: "tools/call", params: #"{"name":"memory_store","arguments":{"content":""}}"#)
            let badText = try Self.text(bad)
            #expect(badText.isError)
            #expect(badText.text.hasPrefix("invalid_input: "))

            let forgot = try await child.request(
                id: 7, method: "tools/call",
                params: #"{"name":"memory_forget","arguments":{"id":"\#(created.memory.id)"}}"#)
            #expect(try Self.text(forgot).text == "forgot \(created.memory.id)")
            let missing = try await child.request(
                id: 8, method: "tools/call", params: #"{"name":"memory_forget","arguments":{}}"#)
            #expect(try Self.text(missing).text == "id: is required and must be a string")

            let unknown = try await child.request(
                id: 9, method: "tools/call", params: #"{"name":"memory_drop_all","arguments":{}}"#)
            let error = try #require(unknown["error"] as? [String: Any], "\(unknown)")
            #expect(error["code"] as? Int == -32602)
            #expect(error["message"] as? String == "Unknown tool: memory_drop_all")
            let pong = try await child.request(id: 10, method: "ping", params: "{}")
            #expect((pong["result"] as? [String: Any])?.isEmpty == true)

            #expect(try await child.finish() == 0)
        }
    }

    /// The first text content of a `tools/call` answer and its `isError`.
    static func text(_ response: [String: Any]) throws -> (text: String, isError: Bool) {
        let result = try #require(response["result"] as? [String: Any], "\(response)")
        let content = try #require(result["content"] as? [[String: Any]])
        let text = try #require(content.first?["text"] as? String)
        return (text, result["isError"] as? Bool ?? false)
    }
}

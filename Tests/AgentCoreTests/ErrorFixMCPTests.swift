import AgentAPI
import AgentCore
import Foundation
import Testing

@Suite(
    "somnus-agent mcp record_fix",
    .timeLimit(.minutes(3)),
    .enabled(
        if: FileManager.default.isExecutableFile(atPath: memoryAgentBinary), "build the somnus-agent product first")
)
struct ErrorFixMCPTests {
    @Test("record_fix stores a fix that recent_errors then lists with its error; a missing fix is named")
    func roundTrip() async throws {
        try await AgentHarness.withLog { agent, log in
            let child = try MCPChild(socket: agent.endpoints.socketPath)
            _ = try await child.request(
                id: 1, method: "initialize",
                params: #"{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}"#)
            try child.send(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            let list = try await child.request(id: 2, method: "tools/list", params: "{}")
            let tools = try #require((list["result"] as? [String: Any])?["tools"] as? [[String: Any]])
            let recordFix = try #require(tools.first { $0["name"] as? String == "record_fix" })
            let schema = try #require(recordFix["inputSchema"] as? [String: Any])
            #expect(schema["required"] as? [String] == ["fix"])
            #expect(
                Set(((schema["properties"] as? [String: Any]) ?? [:]).keys)
                    == ["fix", "template", "line", "namespace", "tags"])

            let arguments = try JSONSerialization.data(
                withJSONObject: ["name": "record_fix", "arguments": ["fix": "pip install torch", "line": moduleLine]])
            let recorded = try MemoryMCPTests.text(
                try await child.request(id: 3, method: "tools/call", params: String(decoding: arguments, as: UTF8.self))
            )
            #expect(!recorded.isError, "\(recorded.text)")
            let fix = try JSONDecoder().decode(ErrorFixResponse.self, from: Data(recorded.text.utf8)).fix
            #expect(fix.match == .template)

            try appendLines([moduleLine], to: log)
            _ = try await agent.errorEntries([moduleLine])
            let errors = try MemoryMCPTests.text(
                try await child.request(
                    id: 4, method: "tools/call", params: #"{"name":"recent_errors","arguments":{"limit":10}}"#))
            #expect(!errors.isError, "\(errors.text)")
            let response = try JSONDecoder().decode(ErrorsResponse.self, from: Data(errors.text.utf8))
            let entry = try #require(response.errors.first { $0.line == moduleLine })
            #expect(entry.fixes.map(\.memoryID) == [fix.memoryID])
            #expect(entry.fixes.first?.fix == "pip install torch")

            let missing = try MemoryMCPTests.text(
                try await child.request(
                    id: 5, method: "tools/call", params: #"{"name":"record_fix","arguments":{"line":"x"}}"#))
            #expect(missing.isError)
            #expect(missing.text == "fix: is required and must be a string")
            let neither = try MemoryMCPTests.text(
                try await child.request(
                    id: 6, method: "tools/call", params: #"{"name":"record_fix","arguments":{"fix":"x"}}"#))
            #expect(neither.isError)
            #expect(neither.text.hasPrefix("bad_request: template: give exactly one of template or line"))
            #expect(try await child.finish() == 0)
        }
    }
}

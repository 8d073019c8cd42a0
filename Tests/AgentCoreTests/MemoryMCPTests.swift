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

    @Test("tools/list gives each tool its operation's request body and parameters from the OpenAPI document")
    func schemasComeFromTheDocument() async throws {
        let child = try MCPChild(socket: "/nonexistent/agent.sock")
        let list = try await child.request(id: 1, method: "tools/list", params: "{}")
        #expect(try await child.finish() == 0)
        let tools = try #require((list["result"] as? [String: Any])?["tools"] as? [[String: Any]])
        var schemas: [String: [String: Any]] = [:]
        for tool in tools {
            let name = try #require(tool["name"] as? String)
            schemas[name] = try #require(tool["inputSchema"] as? [String: Any])
        }
        let document = try #require(
            try JSONSerialization.jsonObject(with: Data(AgentOpenAPI.document.utf8)) as? [String: Any])
        let components = try #require(document["components"] as? [String: Any])
        let bodies = try #require(components["schemas"] as? [String: Any])
        /// A schema of the document with its `$ref`s replaced by what they name.
        func resolved(_ value: Any) throws -> Any {
            if let array = value as? [Any] { return try array.map(resolved) }
            guard var object = value as? [String: Any] else { return value }
            if let reference = object.removeValue(forKey: "$ref") as? String {
                let parts = reference.split(separator: "/").dropFirst().map(String.init)
                var target: Any = document
                for part in parts { target = try #require((target as? [String: Any])?[part], "\(reference)") }
                let base = try #require(try resolved(target) as? [String: Any])
                object = base.merging(object) { _, sibling in sibling }
            }
            return try object.mapValues(resolved)
        }
        func body(_ name: String) throws -> [String: Any] {
            let schema = try #require(bodies[name])
            return try #require(try resolved(schema) as? [String: Any])
        }
        func same(_ left: Any?, _ right: Any?) -> Bool {
            guard let left = left as? NSObject, let right = right as? NSObject else {
                return left == nil && right == nil
            }
            return left.isEqual(right)
        }

        // The tools fill in `namespace` (with its default) where the document requires it.
        for (tool, request, required) in [
            ("memory_store", "MemoryCreateRequest", ["content"]), ("memory_search", "MemorySearchRequest", ["query"]),
            ("record_fix", "ErrorFixRequest", ["fix"]),
        ] {
            let schema = try #require(schemas[tool])
            var expected = try #require(try body(request)["properties"] as? [String: Any])
            if var namespace = expected["namespace"] as? [String: Any], tool != "record_fix" {
                namespace["default"] = "default"
                expected["namespace"] = namespace
            }
            #expect(same(schema["properties"], expected), "\(tool)")
            #expect(schema["required"] as? [String] == required, "\(tool)")
            #expect(schema["type"] as? String == "object")
            // Claude's MCP clients refuse a tool with oneOf at the top level; the description says it.
            #expect(schema["oneOf"] == nil)
        }
        #expect(
            (schemas["record_fix"]?["description"] as? String)
                == (try body("ErrorFixRequest")["description"] as? String))

        var namespace = try body("Namespace")
        namespace["description"] = "default 'default'"
        namespace["default"] = "default"
        let forget = try #require(schemas["memory_forget"])
        #expect(same(forget["properties"], ["id": ["type": "string"], "namespace": namespace]))
        #expect(forget["required"] as? [String] == ["id"])

        let paths = try #require(document["paths"] as? [String: Any])
        let listErrors = try #require((paths["/v1/errors"] as? [String: Any])?["get"] as? [String: Any])
        var parameters: [String: Any] = [:]
        for parameter in try #require(listErrors["parameters"] as? [[String: Any]]) {
            var schema = try #require(parameter["schema"] as? [String: Any])
            schema["description"] = parameter["description"]
            let name = try #require(parameter["name"] as? String)
            parameters[name] = schema
        }
        let errors = try #require(schemas["recent_errors"])
        #expect(same(errors["properties"], parameters))
        #expect(errors["required"] == nil)
        #expect(!String(decoding: try JSONSerialization.data(withJSONObject: tools), as: UTF8.self).contains("$ref"))
    }

    @Test("recent_errors passes since and category from the document's query parameters; bad types are named")
    func queryParameters() async throws {
        try await AgentHarness.with { agent in
            let child = try MCPChild(socket: agent.endpoints.socketPath)
            let filtered = try Self.text(
                try await child.request(
                    id: 1, method: "tools/call",
                    params: #"{"name":"recent_errors","arguments":{"category":"cuda_error","limit":5,"since":"0"}}"#))
            #expect(!filtered.isError, "\(filtered.text)")
            let bad = try Self.text(
                try await child.request(
                    id: 2, method: "tools/call", params: #"{"name":"recent_errors","arguments":{"since":"yesterday"}}"#)
            )
            #expect(bad.isError)
            #expect(bad.text.hasPrefix("bad_request: since:"), "\(bad.text)")
            let wrongType = try Self.text(
                try await child.request(
                    id: 3, method: "tools/call", params: #"{"name":"recent_errors","arguments":{"limit":"ten"}}"#))
            #expect(wrongType.text == "limit: must be an integer")
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

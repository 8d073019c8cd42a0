import AgentAPI
import AgentCore
import ArgumentParser
import FoundationEssentials
import Logging
import MCPStdio

#if canImport(Glibc)
    import Glibc
#endif

/// `somnus-agent mcp`: a Model Context Protocol server on stdin/stdout whose tools call the agent's unix socket.
struct MCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve memory and error tools over the Model Context Protocol on stdin/stdout.",
        discussion: """
            Tools: memory_store, memory_search, memory_forget, recent_errors, record_fix. Each calls the running \
            agent through its unix socket; stdout carries only protocol messages, logs go to stderr.
            """
    )

    @Option(name: .customLong("config"), help: "The agent's JSON configuration file, read for its socket path.")
    var configPath = AgentConfiguration.defaultPath

    @Option(help: "The agent's unix socket (default: the configuration's, /run/somnus/agent.sock).")
    var socket: String?

    func run() async throws {
        let socketPath: String
        if let socket {
            socketPath = socket
        } else {
            do {
                socketPath = try AgentConfiguration.load(path: configPath).socketPath
            } catch {
                throw MemoryCLI.fail("invalid configuration: \(error.message)", status: 2)
            }
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        // A client that goes away must end the loop with an error, not kill the process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let tools = MCPMemoryTools(client: AgentSocketClient(socketPath: socketPath))
        let server = MCPServer(
            name: "somnus-agent",
            version: AgentProtocol.somnusVersion,
            instructions: "Persistent memory of this VM: store facts, search them later, forget them, read "
                + "the agent's recent classified errors with the fixes recorded for them, and record a fix that "
                + "worked so the next occurrence of the error carries it.",
            tools: MCPMemoryTools.definitions
        ) { name, arguments in
            await tools.call(name, arguments: arguments)
        }
        do {
            try await server.serve()
        } catch {
            throw MemoryCLI.fail("mcp: \(error.message)", status: 1)
        }
    }
}

/// The MCP tools and how each maps to an agent route.
struct MCPMemoryTools: Sendable {
    let client: AgentSocketClient

    /// The tools `tools/list` announces.
    static let definitions: [MCPTool] = [
        MCPTool(
            name: "memory_store",
            description: "Remember a piece of text (a fact, a preference, a fix) in this VM's persistent memory. "
                + "Identical content is de-duplicated; returns the stored memory as JSON.",
            inputSchema: objectSchema(
                [
                    "content": ["type": "string", "description": "The text to remember (at most 64 KiB)."],
                    "namespace": namespaceSchema,
                    "kind": [
                        "type": "string", "enum": .array(MemoryKind.allCases.map { .string($0.rawValue) }),
                        "description": "What it is about (default core_fact).",
                    ],
                    "importance": [
                        "type": "string", "enum": .array(MemoryImportance.allCases.map { .string($0.rawValue) }),
                        "description": "How much it matters (default medium).",
                    ],
                    "tags": ["type": "array", "items": ["type": "string"], "description": "Labels."],
                ], required: ["content"])
        ),
        MCPTool(
            name: "memory_search",
            description: "Search this VM's persistent memory by meaning and keywords; returns the best hits as "
                + "JSON with their scores and ranks.",
            inputSchema: objectSchema(
                [
                    "query": ["type": "string", "description": "The question or keywords."],
                    "namespace": namespaceSchema,
                    "limit": ["type": "integer", "minimum": 1, "maximum": 100, "description": "Hits at most (5)."],
                    "tags": [
                        "type": "array", "items": ["type": "string"], "description": "Only memories with all tags.",
                    ],
                ], required: ["query"])
        ),
        MCPTool(
            name: "memory_forget",
            description: "Delete one memory by its id.",
            inputSchema: objectSchema(
                ["id": ["type": "string", "description": "The memory's id."], "namespace": namespaceSchema],
                required: ["id"])
        ),
        MCPTool(
            name: "recent_errors",
            description: "The agent's recent classified errors from the VM's logs and journal, as JSON; each error "
                + "lists under `fixes` up to 3 recorded fixes of the same template (match \"template\") or of the "
                + "same kind (match \"kind\"), best first.",
            inputSchema: objectSchema(
                ["limit": ["type": "integer", "minimum": 1, "maximum": 1000, "description": "Errors at most."]],
                required: [])
        ),
        MCPTool(
            name: "record_fix",
            description: "Record what fixed an error, linked to its template, so that the next occurrence of the "
                + "error (in recent_errors) carries it. Give exactly one of template (as recent_errors shows it) or "
                + "line (a raw error line, classified by the agent). Returns the recorded fix as JSON.",
            inputSchema: objectSchema(
                [
                    "fix": ["type": "string", "description": "What fixed the error (at most 64 KiB)."],
                    "template": ["type": "string", "description": "The error's template from recent_errors."],
                    "line": ["type": "string", "description": "A raw error line."],
                    "tags": ["type": "array", "items": ["type": "string"], "description": "Labels."],
                ], required: ["fix"])
        ),
    ]

    private static let namespaceSchema: JSONValue = [
        "type": "string", "pattern": "^[A-Za-z0-9._:-]{1,64}$", "description": "The scope (default 'default').",
    ]

    private static func objectSchema(_ properties: [String: JSONValue], required: [String]) -> JSONValue {
        [
            "type": "object", "properties": .object(properties),
            "required": .array(required.map { .string($0) }),
        ]
    }

    /// Runs one tool; failures come back as a result with `isError` and the agent's message, an unknown tool as
    /// `nil` (a protocol error).
    func call(_ name: String, arguments: [String: JSONValue]) async -> MCPToolResult? {
        do {
            switch name {
            case "memory_store": return try await store(arguments)
            case "memory_search": return try await search(arguments)
            case "memory_forget": return try await forget(arguments)
            case "recent_errors": return try await recentErrors(arguments)
            case "record_fix": return try await recordFix(arguments)
            default: return nil
            }
        } catch let error as MCPToolError {
            return Self.failure(error.message)
        } catch {
            return Self.failure("\(error)")
        }
    }

    private func store(_ arguments: [String: JSONValue]) async throws -> MCPToolResult {
        guard let content = arguments["content"]?.stringValue else {
            throw MCPToolError(message: "content: is required and must be a string")
        }
        var body: [String: JSONValue] = ["content": .string(content), "namespace": .string(try namespace(arguments))]
        for key in ["kind", "importance", "tags"] { body[key] = arguments[key] }
        let response = try await send("POST", MemoryPath.memories, body: .object(body))
        return Self.success(response.text)
    }

    private func search(_ arguments: [String: JSONValue]) async throws -> MCPToolResult {
        guard let query = arguments["query"]?.stringValue else {
            throw MCPToolError(message: "query: is required and must be a string")
        }
        var body: [String: JSONValue] = ["query": .string(query), "namespace": .string(try namespace(arguments))]
        for key in ["limit", "tags"] { body[key] = arguments[key] }
        let response = try await send("POST", MemoryPath.search, body: .object(body))
        return Self.success(response.text)
    }

    private func forget(_ arguments: [String: JSONValue]) async throws -> MCPToolResult {
        guard let id = arguments["id"]?.stringValue else {
            throw MCPToolError(message: "id: is required and must be a string")
        }
        let path =
            "\(MemoryPath.memories)/\(MemoryCLI.escape(id))?namespace=\(MemoryCLI.escape(try namespace(arguments)))"
        _ = try await send("DELETE", path, body: nil)
        return Self.success("forgot \(id)")
    }

    private func recentErrors(_ arguments: [String: JSONValue]) async throws -> MCPToolResult {
        var path = MemoryPath.errors
        if let limit = arguments["limit"]?.intValue { path += "?limit=\(limit)" }
        let response: AgentSocketResponse
        do {
            response = try await client.sendAsync("GET", path)
        } catch {
            throw MCPToolError(message: error.message)
        }
        if response.status == 404 {
            throw MCPToolError(
                message: "this agent has no \(MemoryPath.errors) route (it predates error classification); "
                    + "update the agent to read classified errors")
        }
        guard response.isSuccess else { throw MCPToolError(response) }
        return Self.success(response.text)
    }

    private func recordFix(_ arguments: [String: JSONValue]) async throws -> MCPToolResult {
        guard let fix = arguments["fix"]?.stringValue else {
            throw MCPToolError(message: "fix: is required and must be a string")
        }
        var body: [String: JSONValue] = ["fix": .string(fix)]
        for key in ["template", "line", "tags"] { body[key] = arguments[key] }
        let response = try await send("POST", AgentRoute.errorFixes, body: .object(body))
        return Self.success(response.text)
    }

    private func namespace(_ arguments: [String: JSONValue]) throws -> String {
        guard let value = arguments["namespace"] else { return "default" }
        guard let text = value.stringValue else {
            throw MCPToolError(message: "namespace: must be a string")
        }
        return text
    }

    private func send(_ method: String, _ path: String, body: JSONValue?) async throws -> AgentSocketResponse {
        var bytes: [UInt8]?
        if let body {
            do {
                bytes = Array(try JSONEncoder().encode(body))
            } catch {
                throw MCPToolError(message: "cannot encode the request: \(error)")
            }
        }
        let response: AgentSocketResponse
        do {
            response = try await client.sendAsync(method, path, body: bytes)
        } catch {
            throw MCPToolError(message: error.message)
        }
        guard response.isSuccess else { throw MCPToolError(response) }
        return response
    }

    private static func success(_ text: String) -> MCPToolResult {
        MCPToolResult(text: text)
    }

    private static func failure(_ message: String) -> MCPToolResult {
        MCPToolResult(text: message, isError: true)
    }
}

/// Why a tool call failed, as told to the MCP client.
struct MCPToolError: Error {
    var message: String

    init(message: String) {
        self.message = message
    }

    /// The agent's error answer as `code: message`.
    init(_ response: AgentSocketResponse) {
        if let detail = response.apiError {
            message = "\(detail.code): \(detail.message)"
        } else {
            message = "the agent answered HTTP \(response.status): \(response.text)"
        }
    }
}

import AgentAPI
import AgentBasics
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
        let tools: MCPMemoryTools
        do {
            tools = try MCPMemoryTools(client: AgentSocketClient(socketPath: socketPath))
        } catch {
            throw MemoryCLI.fail("mcp: \(error.message)", status: 1)
        }
        let server = MCPServer(
            name: "somnus-agent",
            version: AgentProtocol.somnusVersion,
            instructions: "Persistent memory of this VM: store facts, search them later, forget them, read "
                + "the agent's recent classified errors with the fixes recorded for them, and record a fix that "
                + "worked so the next occurrence of the error carries it.",
            tools: tools.definitions
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

/// The MCP tools and the agent operation each calls; each tool's input schema is that operation's request body
/// and parameters in the agent's OpenAPI document (see ``AgentOperation``).
struct MCPMemoryTools: Sendable {
    /// A tool, the operation it calls and the arguments it fills in when they are missing.
    private struct Entry: Sendable {
        var tool: MCPTool
        var operation: AgentOperation
        var defaults: [String: JSONValue]
    }

    let client: AgentSocketClient
    private let entries: [String: Entry]
    /// The tools `tools/list` announces, in this order.
    let definitions: [MCPTool]

    /// Reads the tools' operations from the agent's OpenAPI document.
    /// - Throws: ``MCPToolError`` when the document lacks an operation a tool calls.
    init(client: AgentSocketClient) throws(MCPToolError) {
        let document = try AgentOperation.agentDocument()
        let byNamespace: [String: JSONValue] = ["namespace": "default"]
        let tools: [(name: String, operation: String, defaults: [String: JSONValue], description: String)] = [
            (
                "memory_store", "createMemory", byNamespace,
                "Remember a piece of text (a fact, a preference, a fix) in this VM's persistent memory. "
                    + "Identical content is de-duplicated; returns the stored memory as JSON."
            ),
            (
                "memory_search", "searchMemories", byNamespace,
                "Search this VM's persistent memory by meaning and keywords; returns the best hits as JSON with "
                    + "their scores and ranks."
            ),
            ("memory_forget", "deleteMemory", byNamespace, "Delete one memory by its id."),
            (
                "recent_errors", "listErrors", [:],
                "The agent's recent classified errors from the VM's logs and journal, as JSON; each error lists "
                    + "under `fixes` up to 3 recorded fixes of the same template (match \"template\") or of the same "
                    + "kind (match \"kind\"), best first."
            ),
            (
                "record_fix", "recordErrorFix", [:],
                "Record what fixed an error, linked to its template, so that the next occurrence of the error (in "
                    + "recent_errors) carries it. Give exactly one of template (as recent_errors shows it) or line "
                    + "(a raw error line, classified by the agent). Returns the recorded fix as JSON."
            ),
        ]
        var entries: [String: Entry] = [:]
        var definitions: [MCPTool] = []
        for tool in tools {
            let operation = try AgentOperation(tool.operation, in: document)
            let definition = MCPTool(
                name: tool.name, description: tool.description,
                inputSchema: operation.inputSchema(defaults: tool.defaults))
            entries[tool.name] = Entry(tool: definition, operation: operation, defaults: tool.defaults)
            definitions.append(definition)
        }
        self.client = client
        self.entries = entries
        self.definitions = definitions
    }

    /// Runs one tool; failures come back as a result with `isError` and the agent's message, an unknown tool as
    /// `nil` (a protocol error).
    func call(_ name: String, arguments: [String: JSONValue]) async -> MCPToolResult? {
        guard let entry = entries[name] else { return nil }
        do throws(MCPToolError) {
            let request = try entry.operation.request(arguments, defaults: entry.defaults)
            let response: AgentSocketResponse
            do {
                response = try await client.send(entry.operation.method, request.path, body: request.body)
            } catch {
                throw MCPToolError(message: error.message)
            }
            if response.status == 404 && name == "recent_errors" {
                throw MCPToolError(
                    message: "this agent has no \(entry.operation.path) route (it predates error classification); "
                        + "update the agent to read classified errors")
            }
            guard response.isSuccess else { throw MCPToolError(response) }
            if name == "memory_forget", let id = arguments["id"]?.stringValue { return Self.success("forgot \(id)") }
            return Self.success(response.text)
        } catch {
            return Self.failure(error.message)
        }
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

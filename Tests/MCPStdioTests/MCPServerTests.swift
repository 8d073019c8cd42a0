import FoundationEssentials
import MCPStdio
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A server with one tool, `echo`, that answers its `text` argument (or fails when `fail` is true).
func echoServer() -> MCPServer {
    MCPServer(
        name: "test-server", version: "1.2.3", instructions: "Say things twice.",
        tools: [
            MCPTool(
                name: "echo", description: "Repeats text.",
                inputSchema: ["type": "object", "properties": ["text": ["type": "string"]], "required": ["text"]])
        ]
    ) { name, arguments in
        guard name == "echo" else { return nil }
        if arguments["fail"] == .bool(true) { return MCPToolResult(text: "asked to fail", isError: true) }
        return MCPToolResult(text: arguments["text"]?.stringValue ?? "")
    }
}

/// Sends one line to the server and decodes its answer.
func answer(_ server: MCPServer, _ line: String) async throws -> JSONValue? {
    guard let bytes = await server.respond(to: Array(line.utf8)) else { return nil }
    #expect(!bytes.contains(UInt8(ascii: "\n")), "an answer must fit on one line")
    return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
}

/// The `error` member of an answer as (code, message, id).
func rpcError(_ value: JSONValue?) throws -> (code: Int, message: String, id: JSONValue?) {
    let object = try #require(value?.objectValue, "no answer")
    let error = try #require(object["error"]?.objectValue, "not an error: \(object)")
    return (try #require(error["code"]?.intValue), try #require(error["message"]?.stringValue), object["id"])
}

@Suite("MCPServer: JSON-RPC 2.0 messages")
struct MCPServerTests {
    @Test("initialize echoes a supported protocol version and names the server and its tool capability")
    func initialize() async throws {
        let server = echoServer()
        let answer = try #require(
            try await answer(
                server,
                #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#
            )?.objectValue)
        #expect(answer["jsonrpc"] == "2.0")
        #expect(answer["id"] == 1)
        let result = try #require(answer["result"]?.objectValue)
        #expect(result["protocolVersion"] == "2025-03-26")
        #expect(result["serverInfo"] == ["name": "test-server", "version": "1.2.3"])
        #expect(result["capabilities"] == ["tools": ["listChanged": false]])
        #expect(result["instructions"] == "Say things twice.")
    }

    @Test("initialize with an unknown protocol version answers the newest this server speaks")
    func negotiation() async throws {
        let result = try await answer(
            echoServer(), #"{"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"1999-01-01"}}"#
        )?.objectValue?["result"]?.objectValue
        #expect(result?["protocolVersion"] == .string(MCPServer.supportedProtocolVersions[0]))
    }

    @Test("initialize without protocolVersion is -32602")
    func initializeWithoutVersion() async throws {
        let error = try rpcError(try await answer(echoServer(), #"{"jsonrpc":"2.0","id":2,"method":"initialize"}"#))
        #expect(error.code == -32602)
        #expect(error.message.contains("protocolVersion"))
        #expect(error.id == 2)
    }

    @Test("notifications get no answer, known or not")
    func notifications() async throws {
        let server = echoServer()
        #expect(try await answer(server, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#) == nil)
        #expect(try await answer(server, #"{"jsonrpc":"2.0","method":"no/such","params":{}}"#) == nil)
        #expect(try await answer(server, "   ") == nil)
    }

    @Test("ping answers an empty result with the request's string id")
    func ping() async throws {
        let answer = try await answer(echoServer(), #"{"jsonrpc":"2.0","id":"p-1","method":"ping"}"#)?.objectValue
        #expect(answer?["id"] == "p-1")
        #expect(answer?["result"] == [:])
    }

    @Test("tools/list announces each tool with its schema")
    func list() async throws {
        let result = try await answer(echoServer(), #"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{}}"#)
        let tools = try #require(result?.objectValue?["result"]?.objectValue?["tools"])
        guard case .array(let list) = tools else {
            Issue.record("tools is not an array: \(tools)")
            return
        }
        #expect(list.count == 1)
        #expect(list.first?.objectValue?["name"] == "echo")
        #expect(list.first?.objectValue?["inputSchema"]?.objectValue?["required"] == ["text"])
    }

    @Test("tools/call answers text content, and a tool failure as isError")
    func call() async throws {
        let server = echoServer()
        let ok = try await answer(
            server,
            #"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"}}}"#)
        #expect(ok?.objectValue?["result"] == ["content": [["type": "text", "text": "hi"]], "isError": false])
        let failed = try await answer(
            server,
            #"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"fail":true}}}"#)
        #expect(
            failed?.objectValue?["result"] == [
                "content": [["type": "text", "text": "asked to fail"]], "isError": true,
            ])
    }

    @Test("tools/call of an unknown tool, without a name, or with non-object arguments is -32602")
    func callErrors() async throws {
        let server = echoServer()
        let unknown = try rpcError(
            try await answer(server, #"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"nope"}}"#))
        #expect(unknown.code == -32602)
        #expect(unknown.message == "Unknown tool: nope")
        let nameless = try rpcError(
            try await answer(server, #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{}}"#))
        #expect(nameless.code == -32602)
        #expect(nameless.message.contains("name is required"))
        let badArguments = try rpcError(
            try await answer(
                server, #"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"echo","arguments":[1]}}"#))
        #expect(badArguments.code == -32602)
        #expect(badArguments.message.contains("arguments must be an object"))
        let badParams = try rpcError(
            try await answer(server, #"{"jsonrpc":"2.0","id":9,"method":"ping","params":[1]}"#))
        #expect(badParams.code == -32602)
        #expect(badParams.message.contains("params must be an object"))
    }

    @Test("an unknown method is -32601 naming it")
    func unknownMethod() async throws {
        let error = try rpcError(
            try await answer(echoServer(), #"{"jsonrpc":"2.0","id":10,"method":"resources/list"}"#))
        #expect(error.code == -32601)
        #expect(error.message == "Method not found: resources/list")
        #expect(error.id == 10)
    }

    @Test("text that is not JSON is -32700 with a null id")
    func parseError() async throws {
        let error = try rpcError(try await answer(echoServer(), #"{"jsonrpc":"2.0","id":11,"#))
        #expect(error.code == -32700)
        #expect(error.message.hasPrefix("Parse error"))
        #expect(error.id == .null)
    }

    @Test("invalid requests are -32600: not an object, a batch, a wrong jsonrpc, a bad id, no or bad method")
    func invalidRequests() async throws {
        let server = echoServer()
        let cases: [(String, String, JSONValue)] = [
            ("42", "must be an object", .null),
            (#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, "batches are not supported", .null),
            (#"{"jsonrpc":"1.0","id":12,"method":"ping"}"#, #"jsonrpc must be "2.0""#, 12),
            (#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#, "id must be a string or an integer", .null),
            (#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#, "id must be a string or an integer", .null),
            (#"{"jsonrpc":"2.0","id":13}"#, "method is missing", 13),
            (#"{"jsonrpc":"2.0","id":14,"method":7}"#, "method must be a string", 14),
        ]
        for (line, text, id) in cases {
            let error = try rpcError(try await answer(server, line))
            #expect(error.code == -32600, "\(line)")
            #expect(error.message.contains(text), "\(line): \(error.message)")
            #expect(error.id == id, "\(line)")
        }
        // A response sent by the client is not a request: nothing to answer.
        #expect(try await answer(server, #"{"jsonrpc":"2.0","id":15,"result":{}}"#) == nil)
    }
}

/// A pipe whose ends close when it is released.
final class TestPipe {
    var readEnd: CInt
    var writeEnd: CInt

    init() throws {
        var ends: [CInt] = [0, 0]
        try #require(pipe(&ends) == 0)
        readEnd = ends[0]
        writeEnd = ends[1]
    }

    func closeRead() {
        if readEnd >= 0 { close(readEnd) }
        readEnd = -1
    }

    func closeWrite() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }

    deinit {
        closeRead()
        closeWrite()
    }

    func write(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes {
                Glibc.write(writeEnd, $0.baseAddress.map { $0 + offset }, $0.count - offset)
            }
            guard count > 0 else { return }
            offset += count
        }
    }

    /// Everything until the write end closes.
    func readAll() -> String {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(readEnd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            result += buffer[..<count]
        }
        return String(decoding: result, as: UTF8.self)
    }
}

@Suite("MCPServer.serve: the stdio loop over real pipes", .serialized, .timeLimit(.minutes(2)))
struct MCPServeTests {
    @Test("answers each line in order, accepts CRLF and a last line without newline, skips an oversized message")
    func lines() async throws {
        let input = try TestPipe()
        let output = try TestPipe()
        let server = echoServer()
        let reader = input.readEnd
        let writer = output.writeEnd
        let serving = Task { () throws -> Void in
            try await server.serve(input: reader, output: writer)
        }
        let oversized = "{\"x\":\"" + String(repeating: "a", count: MCPServer.maximumMessageBytes + 10) + "\"}\n"
        input.write(oversized)
        input.write(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"# + "\r\n")
        input.write(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"# + "\n\n")
        input.write(#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        input.closeWrite()
        try await serving.value
        output.closeWrite()
        let lines = output.readAll().split(separator: "\n")
        #expect(lines.count == 3, "\(lines)")
        #expect(lines.first?.contains("a message is longer than") == true)
        #expect(lines.dropFirst().first?.contains(#""id":1"#) == true)
        #expect(lines.last?.contains(#""id":2"#) == true)
    }

    @Test("a descriptor that cannot be read ends the loop with read_failed and the system's reason")
    func readFailure() async throws {
        let output = try TestPipe()
        await #expect {
            try await echoServer().serve(input: -1, output: output.writeEnd)
        } throws: { error in
            guard let error = error as? MCPStdioError else { return false }
            return error.code == .read && error.message.contains("Bad file descriptor")
        }
    }

    @Test("a client that closed its end ends the loop with write_failed")
    func writeFailure() async throws {
        signal(SIGPIPE, SIG_IGN)
        let input = try TestPipe()
        let output = try TestPipe()
        output.closeRead()
        input.write(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"# + "\n")
        input.closeWrite()
        await #expect {
            try await echoServer().serve(input: input.readEnd, output: output.writeEnd)
        } throws: { error in
            guard let error = error as? MCPStdioError else { return false }
            return error.code == .write && error.message.contains("Broken pipe")
        }
    }
}

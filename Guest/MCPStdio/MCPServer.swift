public import FoundationEssentials
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A Model Context Protocol server offering tools over the stdio transport: JSON-RPC 2.0 messages, one per
/// line, read from one descriptor and answered on another.
///
/// It speaks the lifecycle (`initialize` with protocol version negotiation, `notifications/initialized`),
/// `ping`, `tools/list` and `tools/call`. Messages are handled one at a time in arrival order.
public struct MCPServer: Sendable {
    /// Runs a tool: `nil` when no tool has that name.
    public typealias ToolHandler = @Sendable (_ name: String, _ arguments: [String: JSONValue]) async -> MCPToolResult?

    /// The protocol versions this server speaks, newest first.
    public static let supportedProtocolVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]

    /// The longest message accepted; a longer line is answered with a parse error and skipped.
    public static let maximumMessageBytes = 4 << 20

    /// JSON-RPC 2.0 error codes.
    public enum ErrorCode {
        /// The line is not JSON.
        public static let parseError = -32700
        /// The JSON is not a valid request object.
        public static let invalidRequest = -32600
        /// No such method.
        public static let methodNotFound = -32601
        /// The method's parameters are wrong (an unknown tool included).
        public static let invalidParams = -32602
    }

    let name: String
    let version: String
    let instructions: String?
    let tools: [MCPTool]
    let handler: ToolHandler

    /// A server.
    /// - Parameters:
    ///   - name: Its name in `serverInfo`.
    ///   - version: Its version in `serverInfo`.
    ///   - instructions: Advice for the model, sent in the `initialize` answer.
    ///   - tools: What `tools/list` announces.
    ///   - handler: Runs a `tools/call`; returning `nil` answers "unknown tool".
    public init(
        name: String, version: String, instructions: String? = nil, tools: [MCPTool],
        handler: @escaping ToolHandler
    ) {
        self.name = name
        self.version = version
        self.instructions = instructions
        self.tools = tools
        self.handler = handler
    }

    /// Answers one message (one line without its newline).
    /// - Returns: The answer's JSON without a newline, or `nil` when none is due (a notification, an empty line,
    ///   or a response the client sent).
    public func respond(to line: some Collection<UInt8>) async -> [UInt8]? {
        let bytes = Array(line)
        guard bytes.contains(where: { !Self.isSpace($0) }) else { return nil }
        let message: JSONValue
        do {
            message = try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
        } catch {
            return Self.encode(Self.failure(.null, ErrorCode.parseError, "Parse error: the message is not JSON"))
        }
        guard let answer = await respond(to: message) else { return nil }
        return Self.encode(answer)
    }

    /// Reads messages from `input` until it ends and writes each answer as a line to `output`. Blocking reads and
    /// writes run on NIO's shared thread pool.
    /// - Parameters:
    ///   - input: The descriptor messages arrive on (standard input, 0, by default).
    ///   - output: The descriptor answers go to (standard output, 1, by default).
    /// - Throws: ``MCPStdioError`` when reading or writing fails; the end of input is a normal return.
    public func serve(input: CInt = 0, output: CInt = 1) async throws(MCPStdioError) {
        var pending: [UInt8] = []
        // Bytes of `pending` already searched for a newline.
        var searched = 0
        // Whether the rest of an oversized message is being dropped.
        var skipping = false
        while true {
            let chunk = try await Self.onPool { () throws(MCPStdioError) -> [UInt8] in try Self.read(input) }
            if chunk.isEmpty { break }
            pending += chunk
            var start = 0
            while let newline = pending[searched...].firstIndex(of: UInt8(ascii: "\n")) {
                var line = pending[start..<newline]
                start = newline + 1
                searched = start
                if skipping {
                    skipping = false
                    continue
                }
                if line.count > Self.maximumMessageBytes {
                    try await Self.writeLine(Self.encode(Self.tooLong), to: output)
                    continue
                }
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                if let answer = await respond(to: line) { try await Self.writeLine(answer, to: output) }
            }
            pending.removeSubrange(..<start)
            searched = pending.count
            if pending.count > Self.maximumMessageBytes {
                if !skipping { try await Self.writeLine(Self.encode(Self.tooLong), to: output) }
                skipping = true
                pending.removeAll()
                searched = 0
            }
        }
        if !skipping, let answer = await respond(to: pending) { try await Self.writeLine(answer, to: output) }
    }

    private static let tooLong = failure(
        .null, ErrorCode.parseError, "Parse error: a message is longer than \(maximumMessageBytes) bytes")

    // MARK: Dispatch

    private func respond(to message: JSONValue) async -> JSONValue? {
        guard case .object(let members) = message else {
            let what = if case .array = message { "batches are not supported" } else { "a message must be an object" }
            return Self.failure(.null, ErrorCode.invalidRequest, "Invalid Request: \(what)")
        }
        let id = members["id"]
        let isNotification = id == nil
        var answerID = JSONValue.null
        if let id {
            switch id {
            case .string, .int: answerID = id
            default:
                return Self.failure(
                    .null, ErrorCode.invalidRequest, "Invalid Request: id must be a string or an integer")
            }
        }
        guard let method = members["method"] else {
            // A response: this server never sends requests, so there is nothing it could answer.
            if members["result"] != nil || members["error"] != nil { return nil }
            return Self.failure(answerID, ErrorCode.invalidRequest, "Invalid Request: method is missing")
        }
        guard members["jsonrpc"] == .string("2.0") else {
            return isNotification
                ? nil : Self.failure(answerID, ErrorCode.invalidRequest, "Invalid Request: jsonrpc must be \"2.0\"")
        }
        guard case .string(let name) = method else {
            return isNotification
                ? nil : Self.failure(answerID, ErrorCode.invalidRequest, "Invalid Request: method must be a string")
        }
        let parameters: [String: JSONValue]
        switch members["params"] {
        case nil, .null?: parameters = [:]
        case .object(let object)?: parameters = object
        default:
            return isNotification
                ? nil : Self.failure(answerID, ErrorCode.invalidParams, "Invalid params: params must be an object")
        }
        // Notifications (initialized, cancelled, …) need no action from a server that answers in order.
        if isNotification { return nil }
        let outcome = await call(name, parameters)
        switch outcome {
        case .success(let result): return ["jsonrpc": "2.0", "id": answerID, "result": result]
        case .failure(let error): return Self.failure(answerID, error.code, error.message)
        }
    }

    private struct RPCError: Error {
        var code: Int
        var message: String
    }

    private func call(_ method: String, _ parameters: [String: JSONValue]) async -> Result<JSONValue, RPCError> {
        switch method {
        case "initialize":
            guard let requested = parameters["protocolVersion"]?.stringValue else {
                return .failure(
                    RPCError(code: ErrorCode.invalidParams, message: "Invalid params: protocolVersion is required"))
            }
            let chosen =
                Self.supportedProtocolVersions.contains(requested) ? requested : Self.supportedProtocolVersions[0]
            var result: [String: JSONValue] = [
                "protocolVersion": .string(chosen),
                "capabilities": ["tools": ["listChanged": false]],
                "serverInfo": ["name": .string(name), "version": .string(version)],
            ]
            if let instructions { result["instructions"] = .string(instructions) }
            return .success(.object(result))
        case "ping":
            return .success([:])
        case "tools/list":
            return .success(["tools": .array(tools.map(\.json))])
        case "tools/call":
            guard let tool = parameters["name"]?.stringValue else {
                return .failure(RPCError(code: ErrorCode.invalidParams, message: "Invalid params: name is required"))
            }
            let arguments: [String: JSONValue]
            switch parameters["arguments"] {
            case nil, .null?: arguments = [:]
            case .object(let object)?: arguments = object
            default:
                return .failure(
                    RPCError(code: ErrorCode.invalidParams, message: "Invalid params: arguments must be an object"))
            }
            guard let result = await handler(tool, arguments) else {
                return .failure(RPCError(code: ErrorCode.invalidParams, message: "Unknown tool: \(tool)"))
            }
            return .success(result.json)
        default:
            return .failure(RPCError(code: ErrorCode.methodNotFound, message: "Method not found: \(method)"))
        }
    }

    // MARK: Encoding and I/O

    private static func failure(_ id: JSONValue, _ code: Int, _ message: String) -> JSONValue {
        ["jsonrpc": "2.0", "id": id, "error": ["code": .int(code), "message": .string(message)]]
    }

    private static func encode(_ value: JSONValue) -> [UInt8] {
        // Every value here comes from decoded JSON or our own text, so encoding cannot meet a non-finite number;
        // should it ever fail, the client still gets a well-formed error.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        if let data = try? encoder.encode(value) { return Array(data) }
        return Array(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"Internal error"}}"#.utf8)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n")
    }

    private static func writeLine(_ bytes: [UInt8], to descriptor: CInt) async throws(MCPStdioError) {
        try await onPool { () throws(MCPStdioError) in try write(bytes + [UInt8(ascii: "\n")], to: descriptor) }
    }

    private static func onPool<Value: Sendable>(
        _ body: @escaping @Sendable () throws(MCPStdioError) -> Value
    ) async throws(MCPStdioError) -> Value {
        let result: Result<Value, MCPStdioError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { () -> Result<Value, MCPStdioError> in
                do throws(MCPStdioError) { return .success(try body()) } catch { return .failure(error) }
            }
        } catch {
            throw MCPStdioError(.read, "the thread pool is shut down: \(error)")
        }
        return try result.get()
    }

    /// One `read`, retried on `EINTR`; empty at the end of input. The corresponding C function is `read`.
    private static func read(_ descriptor: CInt) throws(MCPStdioError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer[..<count]) }
            let code = errno
            if code == EINTR { continue }
            throw MCPStdioError(.read, "cannot read the input: \(String(cString: strerror(code)))")
        }
    }

    /// Writes all of `bytes`, retrying short writes and `EINTR`. The corresponding C function is `write`.
    private static func write(_ bytes: [UInt8], to descriptor: CInt) throws(MCPStdioError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.write(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset)
            }
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                throw MCPStdioError(.write, "cannot write an answer: \(String(cString: strerror(code)))")
            }
            offset += written
        }
    }
}

public import AgentAPI
public import AgentBasics
import FoundationEssentials
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

extension AgentError.Code {
    /// The agent's unix socket could not be reached, or the connection broke.
    public static let agentUnreachable = AgentError.Code("agent_unreachable")
    /// The agent answered something that is not HTTP or not the expected JSON.
    public static let badResponse = AgentError.Code("bad_response")
}

/// One HTTP answer read from the agent's unix socket.
public struct AgentSocketResponse: Sendable, Equatable {
    /// The HTTP status code.
    public var status: Int
    /// Header fields with lower-cased names; a repeated field keeps its last value.
    public var headers: [String: String]
    /// The body, with any chunked transfer encoding removed.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The agent's `{"error":{"code","message"}}` body, when the body is one.
    public var apiError: APIErrorBody.Detail? {
        (try? JSONDecoder().decode(APIErrorBody.self, from: Data(body)))?.error
    }

    /// Decodes the body as JSON.
    /// - Parameter type: The expected type.
    /// - Throws: ``AgentError`` `bad_response` naming the status and the decoding problem.
    public func decode<Value: Decodable>(_ type: Value.Type) throws(AgentError) -> Value {
        do {
            return try JSONDecoder().decode(Value.self, from: Data(body))
        } catch {
            throw AgentError(.badResponse, "the agent's \(status) answer is not a \(Value.self): \(error)")
        }
    }
}

/// A small HTTP/1.1 client for the agent's unix socket, used by the agent's own command line and MCP server.
///
/// Each request opens one connection with `Connection: close`. The blocking ``send(_:_:body:contentType:)``
/// suits a command line; ``sendAsync(_:_:body:contentType:)`` runs the same on NIO's thread pool so callers on
/// the cooperative pool never block it.
public struct AgentSocketClient: Sendable {
    /// The largest answer accepted (256 MiB); an export bigger than that is cut off with an error.
    public static let maxResponseBytes = 256 << 20

    /// The agent's unix socket.
    public var socketPath: String
    /// How long one read or write may wait.
    public var timeout: Duration

    /// Creates a client.
    /// - Parameters:
    ///   - socketPath: The agent's unix socket, such as `/run/somnus/agent.sock`.
    ///   - timeout: How long one read or write may wait.
    public init(socketPath: String, timeout: Duration = .seconds(120)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// Sends one request and reads the whole answer. Blocking.
    /// - Parameters:
    ///   - method: The HTTP method, such as `GET`.
    ///   - path: The path with its query, such as `/v1/memories/stats?namespace=default`.
    ///   - body: The request body, if any.
    ///   - contentType: The body's media type.
    /// - Returns: The answer, whatever its status.
    /// - Throws: ``AgentError`` `agent_unreachable` when the socket cannot be reached or the connection breaks,
    ///   `bad_response` when the answer is not HTTP/1.1.
    public func send(
        _ method: String,
        _ path: String,
        body: [UInt8]? = nil,
        contentType: String = "application/json"
    ) throws(AgentError) -> AgentSocketResponse {
        let descriptor = try connect()
        defer { close(descriptor) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: agent\r\nConnection: close\r\nAccept: */*\r\n"
        if let body {
            head += "Content-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        var request = Array(head.utf8)
        if let body { request.append(contentsOf: body) }
        try write(request, to: descriptor)
        return try readResponse(from: descriptor)
    }

    /// Sends one request on NIO's thread pool and reads the whole answer.
    /// - Parameters:
    ///   - method: The HTTP method, such as `GET`.
    ///   - path: The path with its query.
    ///   - body: The request body, if any.
    ///   - contentType: The body's media type.
    /// - Returns: The answer, whatever its status.
    /// - Throws: ``AgentError`` as ``send(_:_:body:contentType:)`` does, or `agent_unreachable` when the thread
    ///   pool is shutting down.
    public func sendAsync(
        _ method: String,
        _ path: String,
        body: [UInt8]? = nil,
        contentType: String = "application/json"
    ) async throws(AgentError) -> AgentSocketResponse {
        let client = self
        let result: Result<AgentSocketResponse, AgentError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                Result { () throws(AgentError) -> AgentSocketResponse in
                    try client.send(method, path, body: body, contentType: contentType)
                }
            }
        } catch {
            throw AgentError(.agentUnreachable, "cannot reach the agent: the thread pool is not running", cause: error)
        }
        return try result.get()
    }

    private func connect() throws(AgentError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !pathBytes.isEmpty, pathBytes.count < capacity, !pathBytes.contains(0) else {
            throw AgentError(
                .agentUnreachable, "the socket path '\(socketPath)' is empty or longer than \(capacity - 1) bytes")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw AgentError(.agentUnreachable, "cannot create a unix socket: \(Self.lastError())")
        }
        let seconds = timeout.components.seconds
        let microseconds = timeout.components.attoseconds / 1_000_000_000_000
        var interval = timeval(tv_sec: Int(seconds), tv_usec: Int(microseconds))
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = Self.lastError()
            close(descriptor)
            throw AgentError(
                .agentUnreachable,
                "cannot connect to the agent at \(socketPath): \(reason) (is somnus-agent running?)")
        }
        return descriptor
    }

    private func write(_ bytes: [UInt8], to descriptor: Int32) throws(AgentError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in
                Glibc.send(descriptor, raw.baseAddress.map { $0 + offset }, raw.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 {
                if errno == EINTR { continue }
                throw AgentError(.agentUnreachable, "cannot send the request to \(socketPath): \(Self.lastError())")
            }
            offset += written
        }
    }

    private func readResponse(from descriptor: Int32) throws(AgentError) -> AgentSocketResponse {
        var received: [UInt8] = []
        var head: (status: Int, headers: [String: String], bodyStart: Int)?
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0 {
                if errno == EINTR { continue }
                throw AgentError(.agentUnreachable, "cannot read the agent's answer: \(Self.lastError())")
            }
            if count == 0 { break }
            received.append(contentsOf: buffer[0..<count])
            guard received.count <= Self.maxResponseBytes + 65_536 else {
                throw AgentError(.badResponse, "the agent's answer is larger than \(Self.maxResponseBytes) bytes")
            }
            if head == nil { head = try Self.parseHead(received) }
            if let head, let length = head.headers["content-length"].flatMap({ Int($0) }),
                received.count - head.bodyStart >= length
            {
                break
            }
        }
        if head == nil { head = try Self.parseHead(received) }
        guard let head else {
            throw AgentError(.badResponse, "the agent closed the connection before a complete answer")
        }
        var body = Array(received[head.bodyStart...])
        if let length = head.headers["content-length"].flatMap({ Int($0) }) {
            guard body.count >= length else {
                throw AgentError(.badResponse, "the agent's answer ended after \(body.count) of \(length) bytes")
            }
            body = Array(body.prefix(length))
        } else if head.headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try Self.dechunk(body)
        }
        return AgentSocketResponse(status: head.status, headers: head.headers, body: body)
    }

    /// The status, headers and body offset, or `nil` while the head is incomplete.
    static func parseHead(_ bytes: [UInt8]) throws(AgentError) -> (
        status: Int, headers: [String: String], bodyStart: Int
    )? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4,
            let end = (0...(bytes.count - 4)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) })
        else {
            return nil
        }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw AgentError(.badResponse, "the agent's answer does not start with an HTTP/1.1 status line")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].lowercased()
            headers[name] = line[line.index(after: colon)...].trimmed
        }
        return (status, headers, end + 4)
    }

    /// Removes chunked transfer encoding.
    static func dechunk(_ bytes: [UInt8]) throws(AgentError) -> [UInt8] {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            guard let lineEnd = (index..<(bytes.count - 1)).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 })
            else {
                throw AgentError(.badResponse, "the agent's chunked answer is cut off")
            }
            let sizeText = String(decoding: bytes[index..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmed, radix: 16) else {
                throw AgentError(.badResponse, "the agent's chunked answer has a bad chunk size '\(sizeText)'")
            }
            if size == 0 { break }
            let start = lineEnd + 2
            guard start + size <= bytes.count else {
                throw AgentError(.badResponse, "the agent's chunked answer is cut off")
            }
            output.append(contentsOf: bytes[start..<(start + size)])
            index = start + size + 2
        }
        return output
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

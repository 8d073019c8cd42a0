public import AgentBasics
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension AgentError.Code {
    /// The agent's unix socket could not be reached, or the connection broke.
    public static let agentUnreachable = AgentError.Code("agent_unreachable")
    /// The agent answered something that is not HTTP or not the expected JSON.
    public static let badResponse = AgentError.Code("bad_response")
}

/// An HTTP/1.1 client for the agent's unix socket, used by the agent's own command line and MCP server.
///
/// Each request opens one connection with `Connection: close` on NIO's shared event loops
/// (`MultiThreadedEventLoopGroup.singleton`); SwiftNIO's HTTP/1.1 codec writes the request and reads the
/// answer, with a `Content-Length`, chunked or ended by the connection's close.
public struct AgentSocketClient: Sendable {
    /// The largest answer body accepted (256 MiB); an export bigger than that is cut off with an error.
    public static let maxResponseBytes = 256 << 20

    /// The agent's unix socket.
    public var socketPath: String
    /// How long the connection may go without a byte read or written before the request fails.
    public var timeout: Duration

    /// Creates a client.
    /// - Parameters:
    ///   - socketPath: The agent's unix socket, such as `/run/somnus/agent.sock`.
    ///   - timeout: How long the connection may go without a byte read or written.
    public init(socketPath: String, timeout: Duration = .seconds(120)) {
        self.socketPath = socketPath
        self.timeout = timeout
    }

    /// Sends one request and reads the whole answer.
    /// - Parameters:
    ///   - method: The HTTP method, such as `GET`.
    ///   - path: The path with its query, such as `/v1/memories/stats?namespace=default`.
    ///   - body: The request body, if any.
    ///   - contentType: The body's media type.
    /// - Returns: The answer, whatever its status.
    /// - Throws: ``AgentError`` `agent_unreachable` when the socket cannot be reached, the connection breaks or
    ///   stays silent for ``timeout``; `bad_response` when the answer is not HTTP/1.1, is cut off or is larger
    ///   than ``maxResponseBytes``.
    public func send(
        _ method: String,
        _ path: String,
        body: [UInt8]? = nil,
        contentType: String = "application/json"
    ) async throws(AgentError) -> AgentSocketResponse {
        let silence = SilentConnectionHandler()
        let connection = try await connect(watchedBy: silence)
        do {
            return try await connection.executeThenClose { inbound, outbound in
                try await write(method, path, body: body, contentType: contentType, to: outbound)
                return try await read(inbound)
            }
        } catch {
            // The idle timer closes the connection at whatever stage it fires, even before the request is written
            // when the process is starved; whichever step failed, silence is the cause.
            if silence.fired {
                throw AgentError(.agentUnreachable, "the agent at \(socketPath) sent nothing for \(timeout)")
            }
            if let error = error as? AgentError { throw error }
            throw AgentError(
                .agentUnreachable, "the connection to the agent at \(socketPath) broke: \(Self.reason(error))",
                cause: error)
        }
    }

    private typealias Connection = NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>

    private func connect(watchedBy silence: SilentConnectionHandler) async throws(AgentError) -> Connection {
        let idleTimeout = TimeAmount(timeout)
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(unixDomainSocketPath: socketPath) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(IdleStateHandler(allTimeout: idleTimeout))
                        try pipeline.addHandler(silence)
                        try pipeline.addHTTPClientHandlers()
                        return try Connection(wrappingChannelSynchronously: channel)
                    }
                }
        } catch let error as SocketAddressError {
            throw AgentError(
                .agentUnreachable, "the socket path '\(socketPath)' is not a usable unix socket path: \(error)",
                cause: error)
        } catch {
            throw AgentError(
                .agentUnreachable,
                "cannot connect to the agent at \(socketPath): \(Self.reason(error)) (is somnus-agent running?)",
                cause: error)
        }
    }

    private func write(
        _ method: String,
        _ path: String,
        body: [UInt8]?,
        contentType: String,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPClientRequestPart>
    ) async throws(AgentError) {
        var headers = HTTPHeaders([
            ("Host", "agent"), ("Connection", "close"), ("Accept", "*/*"),
            ("Content-Length", String(body?.count ?? 0)),
        ])
        var parts: [HTTPClientRequestPart] = []
        if let body {
            headers.add(name: "Content-Type", value: contentType)
            parts.append(.body(.byteBuffer(ByteBuffer(bytes: body))))
        }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: path, headers: headers)
        do {
            try await outbound.write(contentsOf: [.head(head)] + parts + [.end(nil)])
        } catch {
            throw AgentError(
                .agentUnreachable, "cannot send the request to the agent at \(socketPath): \(Self.reason(error))",
                cause: error)
        }
    }

    private func read(
        _ inbound: NIOAsyncChannelInboundStream<HTTPClientResponsePart>
    ) async throws(AgentError) -> AgentSocketResponse {
        var answer = AnswerAssembler()
        do {
            for try await part in inbound {
                if let response = try answer.add(part) { return response }
            }
        } catch {
            throw readFailure(error)
        }
        throw AgentError(.badResponse, "the agent closed the connection before a complete answer")
    }

    /// What an error while reading the answer means to the caller.
    private func readFailure(_ error: any Error) -> AgentError {
        switch error {
        case let error as AgentError:
            return error
        case HTTPParserError.invalidEOFState:
            return AgentError(.badResponse, "the agent closed the connection in the middle of its answer")
        case let error as HTTPParserError:
            return AgentError(.badResponse, "the agent's answer is not HTTP/1.1: \(error)", cause: error)
        default:
            return AgentError(
                .agentUnreachable, "cannot read the agent's answer from \(socketPath): \(Self.reason(error))",
                cause: error)
        }
    }

    /// The system's text for a system call's error, else the error's own.
    private static func reason(_ error: any Error) -> String {
        if let error = error as? IOError { return String(cString: strerror(error.errnoCode)) }
        return "\(error)"
    }
}

/// Gathers the parts of one answer.
private struct AnswerAssembler {
    private var head: HTTPResponseHead?
    private var body: [UInt8] = []

    /// Adds a part; returns the answer once its end has come.
    /// - Throws: ``AgentError`` `bad_response` when the body grows beyond
    ///   ``AgentSocketClient/maxResponseBytes``.
    mutating func add(_ part: HTTPClientResponsePart) throws(AgentError) -> AgentSocketResponse? {
        switch part {
        case .head(let received):
            head = received
        case .body(let chunk):
            guard body.count + chunk.readableBytes <= AgentSocketClient.maxResponseBytes else {
                throw AgentError(
                    .badResponse, "the agent's answer is larger than \(AgentSocketClient.maxResponseBytes) bytes")
            }
            body.append(contentsOf: chunk.readableBytesView)
        case .end:
            guard let head else { return nil }
            let headers = Dictionary(head.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 })
            return AgentSocketResponse(status: Int(head.status.code), headers: headers, body: body)
        }
        return nil
    }
}

/// Fails and closes a connection on which `IdleStateHandler` saw nothing read or written for its timeout, and
/// remembers that it did.
private final class SilentConnectionHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    /// The error the reader of the connection sees.
    struct Silence: Error {}

    private let state = Mutex(false)

    /// Whether the connection was closed for its silence.
    var fired: Bool { state.withLock { $0 } }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        state.withLock { $0 = true }
        context.fireErrorCaught(Silence())
        context.close(promise: nil)
    }
}

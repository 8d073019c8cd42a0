import AgentAPI
import AgentBasics
import HTTPTypes
import Hummingbird
import NIOCore
import OpenAPIRuntime

/// Registers the generated server's operations on a listener's router: each request body is read whole, up to
/// ``AgentRequestContext/maxBodySize`` bytes, and an empty one counts as no body; each answer is written in one
/// piece with its head; the operations ``MetricsController`` serves are left to it.
///
/// As the agent always has, it reads a body as the type the document gives the operation and answers in the one
/// media type the document gives, whatever `Content-Type` and `Accept` say (`curl --data` sends a form type, and
/// clients send JSON Lines as `application/json`): both headers are dropped before the generated server sees the
/// request.
struct AgentRouterTransport: ServerTransport {
    /// The paths whose answers are not JSON operations: the Prometheus text and the document itself.
    static let servedByMetricsController: Set<String> = [AgentRoute.metrics, AgentRoute.openAPI]

    let router: Router<AgentRequestContext>

    func register(
        _ handler:
            @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (
                HTTPResponse, HTTPBody?
            ),
        method: HTTPRequest.Method,
        path: String
    ) throws {
        guard !Self.servedByMetricsController.contains(path) else { return }
        router.on(RouterPath(path), method: method) { request, context in
            var head = request.head
            head.headerFields[.contentType] = nil
            head.headerFields[.accept] = nil
            let parameters =
                context.parameters.isEmpty
                ? [:]
                : [String: Substring](
                    context.parameters.map { (String($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
            let (response, body) = try await handler(
                head, try await Self.body(of: request), ServerRequestMetadata(pathParameters: parameters))
            return Response(status: response.status, headers: response.headerFields, body: try await Self.answer(body))
        }
    }

    /// The request's body, read whole, or `nil` when it is empty or the head announces none (neither
    /// `Content-Length` nor `Transfer-Encoding`, as for most `GET`s).
    /// - Throws: ``AgentError`` `payload_too_large` past ``AgentRequestContext/maxBodySize`` bytes.
    static func body(of request: Request) async throws -> HTTPBody? {
        guard request.headers[.contentLength] != nil || request.headers[.transferEncoding] != nil else { return nil }
        let bytes: ByteBuffer
        do {
            bytes = try await request.body.collect(upTo: AgentRequestContext.maxBodySize)
        } catch is NIOTooManyBytesError {
            throw AgentError(
                .payloadTooLarge, "the request body is larger than \(AgentRequestContext.maxBodySize) bytes")
        }
        return bytes.readableBytes == 0 ? nil : HTTPBody(bytes.readableBytesView)
    }

    /// The answer's body in one buffer, so that Hummingbird writes it with its head: every answer of the generated
    /// server is already whole in memory (encoded JSON, the memory export's lines).
    static func answer(_ body: HTTPBody?) async throws -> ResponseBody {
        guard let body else { return ResponseBody() }
        var buffer = ByteBuffer()
        if case .known(let length) = body.length { buffer.reserveCapacity(Int(length)) }
        for try await chunk in body { buffer.writeBytes(chunk) }
        return ResponseBody(byteBuffer: buffer)
    }
}

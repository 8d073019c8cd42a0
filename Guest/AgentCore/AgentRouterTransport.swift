import AgentAPI
import AgentBasics
import HTTPTypes
import Hummingbird
import OpenAPIHummingbird
import OpenAPIRuntime

/// Registers the generated server's operations on a listener's router (through swift-openapi-hummingbird): each
/// request body is read up to ``AgentRequestContext/maxBodySize`` bytes and an empty one counts as no body; the
/// operations ``MetricsController`` serves are left to it.
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
        router.register(
            { request, body, metadata in
                var request = request
                request.headerFields[.contentType] = nil
                request.headerFields[.accept] = nil
                return try await handler(request, try await Self.limited(body), metadata)
            },
            method: method, path: path)
    }

    /// The body, read whole (the generated server reads JSON bodies whole too), or `nil` when it is empty.
    /// - Throws: ``AgentError`` `payload_too_large` past ``AgentRequestContext/maxBodySize`` bytes.
    static func limited(_ body: HTTPBody?) async throws(AgentError) -> HTTPBody? {
        guard let body else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try await [UInt8](collecting: body, upTo: AgentRequestContext.maxBodySize)
        } catch {
            throw AgentError(
                .payloadTooLarge, "the request body is larger than \(AgentRequestContext.maxBodySize) bytes")
        }
        return bytes.isEmpty ? nil : HTTPBody(bytes)
    }
}

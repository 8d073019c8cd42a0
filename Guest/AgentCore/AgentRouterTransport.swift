import AgentAPI
import HTTPTypes
import Hummingbird
import OpenAPIHummingbird
import OpenAPIRuntime

/// Registers the generated server's operations on a listener's router (through swift-openapi-hummingbird): each
/// request body is read up to ``AgentRequestContext/maxBodySize`` bytes and an empty one counts as no body; the
/// operations ``MetricsController`` serves are left to it.
struct AgentRouterTransport: ServerTransport {
    /// The paths whose answers are not JSON operations: the Prometheus text and the document itself.
    static let servedByMetricsController: Set<String> = [AgentRoute.metrics, AgentRoute.openAPI]

    let router: Router<AgentRequestContext>

    func register(
        _ handler: @escaping @Sendable (HTTPRequest, HTTPBody?, ServerRequestMetadata) async throws -> (
            HTTPResponse, HTTPBody?
        ),
        method: HTTPRequest.Method,
        path: String
    ) throws {
        guard !Self.servedByMetricsController.contains(path) else { return }
        router.register(
            { request, body, metadata in try await handler(request, try await Self.limited(body), metadata) },
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

import AgentAPI
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Turns every error thrown below it, including the router's own 404, into the JSON error body.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as AgentError {
            return Self.response(for: error)
        } catch let error as HTTPError {
            let code: AgentError.Code =
                switch error.status {
                case .notFound: .notFound
                case .methodNotAllowed: .methodNotAllowed
                case .contentTooLarge: .payloadTooLarge
                case .unauthorized: .unauthorized
                case .badRequest: .badRequest
                default: .internal
                }
            let message = error.body ?? Self.defaultMessage(code, request: request)
            return Self.json(status: error.status, body: APIErrorBody(code: code.rawValue, message: message))
        } catch {
            context.logger.error("Request failed", metadata: ["agent.error": "\(error)"])
            return Self.json(
                status: .internalServerError,
                body: APIErrorBody(code: AgentError.Code.internal.rawValue, message: "internal error: \(error)")
            )
        }
    }

    static func response(for error: AgentError) -> Response {
        let status: HTTPResponse.Status =
            switch error.code {
            case .badRequest, .invalidConfiguration: .badRequest
            case .unauthorized: .unauthorized
            case .forbidden: .forbidden
            case .notFound: .notFound
            case .methodNotAllowed: .methodNotAllowed
            case .payloadTooLarge: .contentTooLarge
            case .tooManyRequests: .tooManyRequests
            case .conflict: .conflict
            default: .internalServerError
            }
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return json(
            status: status, headers: headers, body: APIErrorBody(code: error.code.rawValue, message: error.message))
    }

    private static func defaultMessage(_ code: AgentError.Code, request: Request) -> String {
        switch code {
        case .notFound: "no route for \(request.method) \(request.uri.path)"
        case .methodNotAllowed: "\(request.method) is not allowed on \(request.uri.path)"
        case .payloadTooLarge: "the request body is larger than \(AgentRequestContext.maxBodySize) bytes"
        default: "\(code)"
        }
    }

    /// A JSON response with sorted keys.
    static func json(
        status: HTTPResponse.Status,
        headers: HTTPFields = [.contentType: "application/json"],
        body: some Encodable
    ) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data =
            (try? encoder.encode(body)) ?? Data(#"{"error":{"code":"internal_error","message":"encoding"}}"#.utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Requires `Authorization: Bearer <token>` on every route except `GET /v1/health/live`.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let state: AgentState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if request.method == .get && request.uri.path == AgentRoute.healthLive {
            return try await next(request, context)
        }
        guard state.token != nil else {
            throw AgentError(.unauthorized, "the agent has no usable token: \(state.tokenProblem ?? "unknown")")
        }
        guard let header = request.headers[.authorization] else {
            throw AgentError(.unauthorized, "missing Authorization: Bearer header")
        }
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), state.accepts(token: header.dropFirst(prefix.count)) else {
            throw AgentError(.unauthorized, "wrong bearer token")
        }
        return try await next(request, context)
    }
}

extension Request {
    /// Collects the body (at most ``AgentRequestContext/maxBodySize`` bytes) and decodes it as JSON.
    /// - Throws: ``AgentError`` `payload_too_large` or `bad_request` naming the bad field.
    func decodeJSON<Value: Decodable>(_ type: Value.Type) async throws -> Value {
        let buffer: ByteBuffer
        do {
            buffer = try await body.collect(upTo: AgentRequestContext.maxBodySize)
        } catch {
            throw AgentError(
                .payloadTooLarge, "the request body is larger than \(AgentRequestContext.maxBodySize) bytes")
        }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(buffer.readableBytesView))
        } catch let DecodingError.typeMismatch(_, context) {
            throw AgentError(.badRequest, "\(Self.path(context)): has the wrong type")
        } catch let DecodingError.valueNotFound(_, context) {
            throw AgentError(.badRequest, "\(Self.path(context)): must not be null")
        } catch let DecodingError.keyNotFound(key, _) {
            throw AgentError(.badRequest, "\(key.stringValue): is required")
        } catch {
            throw AgentError(.badRequest, "the request body is not valid JSON")
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

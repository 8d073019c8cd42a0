import AgentAPI
import AgentAPIGenerated
import AgentBasics
import AgentJobs
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import Memory
import NIOCore
import OpenAPIRuntime
import Packs

/// The one place where errors become HTTP answers: every error thrown below it (a handler's ``AgentError`` or
/// ``MemoryError``, the generated server's ``ServerError`` around them or around a request it cannot read, the
/// router's own 404 and 405) is answered with the JSON error body `{"error":{"code","message"}}`.
struct APIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let (status, failure) = Self.answer(for: error, request: request)
            if status == .internalServerError {
                context.logger.error("Request failed", metadata: ["agent.error": "\(error)"])
            }
            return Self.response(status: status, for: failure)
        }
    }

    /// The status and the agent error an error is answered with.
    static func answer(for error: any Error, request: Request) -> (HTTPResponse.Status, AgentError) {
        if let answer = domainAnswer(for: error) { return answer }
        switch error {
        case let error as ServerError:
            return answer(for: error)
        case let error as HTTPError:
            let code: AgentError.Code =
                switch error.status {
                case .notFound: .notFound
                case .methodNotAllowed: .methodNotAllowed
                case .contentTooLarge: .payloadTooLarge
                case .unauthorized: .unauthorized
                case .badRequest: .badRequest
                default: .internal
                }
            return (error.status, AgentError(code, error.body ?? defaultMessage(code, request: request)))
        default:
            return (.internalServerError, AgentError(.internal, "internal error: \(error)"))
        }
    }

    /// The answer to a domain error: an ``AgentError`` or a ``MemoryError``.
    static func domainAnswer(for error: any Error) -> (HTTPResponse.Status, AgentError)? {
        switch error {
        case let error as AgentError: (status(of: error.code), error)
        case let error as MemoryError: (status(of: agentError(error).code), agentError(error))
        default: nil
        }
    }

    /// The answer to an error of the generated server: the handler's own error, or a request it cannot read (a
    /// query parameter or body field named in the message, as the document describes it).
    static func answer(for error: ServerError) -> (HTTPResponse.Status, AgentError) {
        if let answer = domainAnswer(for: error.underlyingError) { return answer }
        // With an input, the handler ran: what failed is the handler or the encoding of its answer.
        guard error.operationInput == nil else {
            return (.internalServerError, AgentError(.internal, "internal error: \(error.underlyingError)"))
        }
        let path = error.request.path ?? ""
        let query = path.firstIndex(of: "?").map { path[path.index(after: $0)...] } ?? ""
        if let refusal = AgentQuery.refusal(operationID: error.operationID, query: query) {
            return (.badRequest, AgentError(.badRequest, refusal))
        }
        if error.operationID == Operations.InstallPack.id {
            // A pack manifest names its own bad field, with the path inside the manifest.
            let message = PackError.decoding(error.underlyingError, source: "request body").message
            return (.badRequest, AgentError(.badRequest, message))
        }
        if let decoding = error.underlyingError as? DecodingError {
            return (.badRequest, AgentError(.badRequest, bodyMessage(decoding)))
        }
        guard error.httpStatus == .internalServerError else {
            // The runtime's own refusal, such as a missing required body.
            let code: AgentError.Code =
                switch error.httpStatus {
                case .badRequest: .badRequest
                case .notFound: .notFound
                default: AgentError.Code(error.httpStatus.reasonPhrase.lowercased().replacing(" ", with: "_"))
                }
            return (error.httpStatus, AgentError(code, error.causeDescription))
        }
        // A body type's own check refused the body while it was decoded.
        return (.badRequest, AgentError(.badRequest, "the request body is not valid JSON"))
    }

    /// What is wrong with a JSON body, naming the field.
    static func bodyMessage(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context): "\(path(context)): has the wrong type"
        case .valueNotFound(_, let context): "\(path(context)): must not be null"
        case .keyNotFound(let key, _): "\(key.stringValue): is required"
        default: "the request body is not valid JSON"
        }
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    /// A memory store failure as the agent's error.
    static func agentError(_ failure: MemoryError) -> AgentError {
        let code: AgentError.Code =
            switch failure.code {
            case .invalidInput: .invalidInput
            case .tooLarge: .tooLarge
            case .notFound: .notFound
            case .degraded, .wrongKey: .memoryDegraded
            case .storage: .storage
            }
        return AgentError(code, failure.message)
    }

    /// The HTTP status of an error code.
    static func status(of code: AgentError.Code) -> HTTPResponse.Status {
        switch code {
        case .badRequest, .invalidConfiguration, .invalidInput: .badRequest
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .payloadTooLarge, .tooLarge: .contentTooLarge
        case .tooManyRequests: .tooManyRequests
        case .conflict: .conflict
        case .memoryDegraded, .memoryOpening, .shuttingDown: .serviceUnavailable
        default: .internalServerError
        }
    }

    /// The JSON error answer; a 401 carries `WWW-Authenticate: Bearer`.
    static func response(status: HTTPResponse.Status, for error: AgentError) -> Response {
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
    private static func json(
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

internal import Foundation

/// An HTTP client on libcurl's multi interface, for many concurrent requests from async code.
///
/// Each client owns one curl multi handle and one dedicated thread that drives every transfer; `perform`
/// suspends its task (it never blocks a cooperative-pool thread) until curl finishes the transfer. A hung
/// server therefore costs only its own request's deadline: 100 requests with a 500 ms deadline finish in about
/// 500 ms however many of them hang. Create one client and share it; it is `Sendable`.
///
/// Cancelling the calling task removes the transfer from curl at once and throws ``CurlError/Code/cancelled``.
/// When the last reference to the client goes away, its thread stops.
public final class CurlClient: Sendable {
    private let configuration: CurlClientConfiguration
    private let loop: CurlMultiLoop

    /// Creates a client and starts its transfer thread.
    /// - Parameter configuration: Settings for all requests.
    /// - Throws: ``CurlError/Code/transport`` when libcurl cannot be initialised.
    public init(configuration: CurlClientConfiguration = CurlClientConfiguration()) throws(CurlError) {
        self.configuration = configuration
        loop = try CurlMultiLoop(configuration: configuration)
    }

    deinit {
        loop.shutDown()
    }

    /// Performs a request and returns the response, whatever its status.
    /// - Parameter request: The request.
    /// - Returns: The response, including 4xx and 5xx answers.
    /// - Throws: ``CurlError`` with ``CurlError/Code/transport`` (curl's code and message),
    ///   ``CurlError/Code/timeout``, ``CurlError/Code/invalidRequest`` or ``CurlError/Code/cancelled``.
    public func perform(_ request: CurlRequest) async throws(CurlError) -> CurlResponse {
        let easy = try CurlEasy(request: request, configuration: configuration)
        let loop = self.loop
        let id = loop.reserve()
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation {
                (continuation: CheckedContinuation<Result<CurlResponse, CurlError>, Never>) in
                loop.submit(CurlTransfer(id: id, easy: easy, continuation: continuation))
            }
        } onCancel: {
            loop.cancel(id)
        }
        return try outcome.get()
    }

    /// Performs a request and decodes its 2xx JSON body.
    /// - Parameters:
    ///   - request: The request; its method is used as given (`GET` by default).
    ///   - type: The type to decode.
    /// - Returns: The decoded body.
    /// - Throws: Everything ``perform(_:)`` throws, plus ``CurlError/Code/httpStatus`` (status and body kept)
    ///   for a non-2xx answer and ``CurlError/Code/undecodableBody`` for a body that is not a valid `T`.
    public func get<T: Decodable>(_ request: CurlRequest, as type: T.Type = T.self) async throws(CurlError) -> T {
        let response = try await perform(request)
        return try response.decode(T.self, method: request.method, url: request.url)
    }

    /// Sends a value as a JSON body and decodes the 2xx JSON answer.
    /// - Parameters:
    ///   - request: The request; a `GET` method becomes `POST`, and `Content-Type: application/json` is added
    ///     unless the request names a content type.
    ///   - body: The value to encode as the body.
    ///   - type: The type to decode.
    /// - Returns: The decoded answer.
    /// - Throws: ``CurlError/Code/unencodableBody`` when `body` cannot be encoded, otherwise what ``get(_:as:)``
    ///   throws.
    public func send<B: Encodable, T: Decodable>(
        _ request: CurlRequest,
        body: B,
        as type: T.Type = T.self
    ) async throws(CurlError) -> T {
        let prepared = try jsonRequest(request, body: body)
        let response = try await perform(prepared)
        return try response.decode(T.self, method: prepared.method, url: prepared.url)
    }

    /// Sends a value as a JSON body and returns the response, whatever its status.
    /// - Parameters:
    ///   - request: The request; a `GET` method becomes `POST`, and `Content-Type: application/json` is added
    ///     unless the request names a content type.
    ///   - body: The value to encode as the body.
    /// - Returns: The response.
    /// - Throws: ``CurlError/Code/unencodableBody`` when `body` cannot be encoded, otherwise what
    ///   ``perform(_:)`` throws.
    public func send<B: Encodable>(_ request: CurlRequest, body: B) async throws(CurlError) -> CurlResponse {
        try await perform(jsonRequest(request, body: body))
    }

    private func jsonRequest<B: Encodable>(_ request: CurlRequest, body: B) throws(CurlError) -> CurlRequest {
        var prepared = request
        if prepared.method == .get {
            prepared.method = .post
        }
        do {
            prepared.body = Array(try JSONEncoder().encode(body))
        } catch {
            throw CurlError(
                code: .unencodableBody,
                message: "request body \(B.self) cannot be encoded as JSON: \(error)",
                method: prepared.method.rawValue,
                url: prepared.url,
                cause: error
            )
        }
        if !prepared.headers.keys.contains(where: { $0.lowercased() == "content-type" }) {
            prepared.headers["Content-Type"] = "application/json"
        }
        return prepared
    }
}

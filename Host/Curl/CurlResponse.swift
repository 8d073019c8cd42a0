internal import Foundation

/// An HTTP response: any status, including 4xx and 5xx.
public struct CurlResponse: Sendable {
    /// The HTTP status code, such as 200.
    public var status: Int
    /// Response headers keyed by lower-cased name; repeated headers are joined with `", "`.
    public var headers: [String: String]
    /// The response body.
    public var body: [UInt8]

    /// Creates a response.
    /// - Parameters:
    ///   - status: The status code.
    ///   - headers: Headers keyed by lower-cased name.
    ///   - body: The body.
    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Whether the status is in 200...299.
    public var isSuccess: Bool { (200...299).contains(status) }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// The value of a header, looked up without regard to case.
    /// - Parameter name: The header name.
    /// - Returns: The value, or `nil` when the response has no such header.
    public func header(_ name: String) -> String? {
        headers[name.lowercased()]
    }

    /// Decodes a 2xx response's JSON body.
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - method: The request's method, for the error.
    ///   - url: The request's URL, for the error.
    /// - Returns: The decoded value.
    /// - Throws: ``CurlError`` with ``CurlError/Code/httpStatus`` (status and body preserved) when the status is
    ///   not 2xx, or ``CurlError/Code/undecodableBody`` (with the `DecodingError` as cause) when the body does not
    ///   decode.
    public func decode<T: Decodable>(
        _ type: T.Type,
        method: CurlMethod = .get,
        url: String = ""
    ) throws(CurlError) -> T {
        guard isSuccess else {
            throw CurlError(
                code: .httpStatus,
                message: "server answered HTTP \(status): \(bodyText.prefix(512))",
                method: method.rawValue,
                url: url,
                status: status,
                body: body
            )
        }
        return try decodeBody(as: T.self, method: method, url: url)
    }

    /// Decodes the JSON body whatever the status, for answers whose non-2xx bodies carry data (such as a 503
    /// readiness answer listing failing checks).
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - method: The request's method, for the error.
    ///   - url: The request's URL, for the error.
    /// - Returns: The decoded value.
    /// - Throws: ``CurlError`` with ``CurlError/Code/undecodableBody`` (status, body and the `DecodingError` kept)
    ///   when the body does not decode.
    public func decodeBody<T: Decodable>(
        as type: T.Type,
        method: CurlMethod = .get,
        url: String = ""
    ) throws(CurlError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(body))
        } catch {
            throw CurlError(
                code: .undecodableBody,
                message: "response body is not a valid \(T.self): \(error)",
                method: method.rawValue,
                url: url,
                status: status,
                body: body,
                cause: error
            )
        }
    }
}

internal import Foundation

/// The one error type of the `Curl` module.
///
/// ``code`` tells the kinds of failure apart; ``message`` is a sentence for people and, for transport failures,
/// carries curl's own error-buffer text (for example `Failed to connect to 127.0.0.1 port 9 after 0 ms:
/// Connection refused`).
public struct CurlError: Error, CustomStringConvertible {
    /// The kind of failure. A struct with static members so kinds can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        /// The stable name of the kind, such as `transport`.
        public let rawValue: String

        /// Creates a code from its stable name.
        /// - Parameter rawValue: The name.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// The request could not be carried out: no connection, DNS failure, reset, malformed URL, and so on.
        /// ``CurlError/curlCode`` holds curl's code.
        public static let transport = Code(rawValue: "transport")
        /// The connect or total deadline of the request passed.
        public static let timeout = Code(rawValue: "timeout")
        /// The server answered with a status outside 200...299; ``CurlError/status`` and ``CurlError/body``
        /// hold the answer. Only the decoding helpers throw this; ``CurlClient/perform(_:)`` returns any status.
        public static let httpStatus = Code(rawValue: "http_status")
        /// The server answered 2xx but the body was not the JSON the caller asked for.
        public static let undecodableBody = Code(rawValue: "undecodable_body")
        /// The request's body could not be encoded as JSON.
        public static let unencodableBody = Code(rawValue: "unencodable_body")
        /// The request itself is invalid (for example a header containing a line break).
        public static let invalidRequest = Code(rawValue: "invalid_request")
        /// The calling task was cancelled and the transfer was abandoned.
        public static let cancelled = Code(rawValue: "cancelled")
        /// The client was shut down before the transfer finished.
        public static let shutDown = Code(rawValue: "shut_down")

        /// The stable name of the kind.
        public var description: String { rawValue }
    }

    /// The kind of failure.
    public let code: Code
    /// A sentence for people describing what failed.
    public let message: String
    /// The method of the request that failed.
    public let method: String
    /// The URL of the request that failed.
    public let url: String
    /// curl's numeric result code (`CURLcode`) for ``Code/transport`` and ``Code/timeout``, otherwise `nil`.
    public let curlCode: Int?
    /// The HTTP status for ``Code/httpStatus`` and ``Code/undecodableBody``, otherwise `nil`.
    public let status: Int?
    /// The response body for ``Code/httpStatus`` and ``Code/undecodableBody``, otherwise empty.
    public let body: [UInt8]
    /// The underlying error, such as a `DecodingError`, when there is one.
    public let cause: (any Error)?
    /// The PEM certificate the server presented when its key did not match ``CurlTLS/pinnedPublicKey``
    /// (curl code 90), otherwise `nil`.
    public let peerCertificate: String?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A sentence for people.
    ///   - method: The request's method.
    ///   - url: The request's URL.
    ///   - curlCode: curl's numeric result code, if curl reported the failure.
    ///   - status: The HTTP status, if the server answered.
    ///   - body: The response body, if the server answered.
    ///   - cause: The underlying error, if any.
    ///   - peerCertificate: The certificate a server with the wrong key presented, if any.
    public init(
        code: Code,
        message: String,
        method: String,
        url: String,
        curlCode: Int? = nil,
        status: Int? = nil,
        body: [UInt8] = [],
        cause: (any Error)? = nil,
        peerCertificate: String? = nil
    ) {
        self.code = code
        self.message = message
        self.method = method
        self.url = url
        self.curlCode = curlCode
        self.status = status
        self.body = body
        self.cause = cause
        self.peerCertificate = peerCertificate
    }

    /// The response body as UTF-8 text (invalid bytes replaced), handy for logs and error bodies.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// `<code>: <method> <url>: <message>`, followed by the status when there is one.
    public var description: String {
        var text = "\(code): \(method) \(url): \(message)"
        if let status {
            text += " (HTTP \(status))"
        }
        if let curlCode {
            text += " (curl code \(curlCode))"
        }
        return text
    }
}

extension CurlError {
    /// Decodes the response body carried by an ``Code/httpStatus`` error, such as the agent's JSON error body.
    /// - Parameter type: The type to decode.
    /// - Returns: The decoded body, or `nil` when there is no body or it is not a valid `T`.
    public func decodeBody<T: Decodable>(as type: T.Type) -> T? {
        guard !body.isEmpty else { return nil }
        return try? JSONDecoder().decode(T.self, from: Data(body))
    }
}

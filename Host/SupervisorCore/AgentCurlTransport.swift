public import Curl
public import Foundation
public import HTTPTypes
public import OpenAPIRuntime

/// The transport of the generated agent client (`AgentAPIClient.Client`) over ``CurlClient``: libcurl stays the
/// host's only HTTP library, with its deadlines, bearer token and pinned TLS.
///
/// ```swift
/// let client = Client(
///     serverURL: URL(string: "http://10.0.0.5:9901")!,
///     transport: AgentCurlTransport(curl: curl, bearerToken: token))
/// let live = try await client.getLiveness().ok.body.json
/// ```
public struct AgentCurlTransport: ClientTransport {
    /// The largest request body sent (64 MiB, the agent's own limit).
    public static let maximumRequestBodySize = 64 << 20

    /// The shared curl client.
    public let curl: CurlClient
    /// Sent as `Authorization: Bearer …` when set.
    public var bearerToken: String?
    /// The deadline to connect.
    public var connectTimeout: Duration
    /// The deadline of each whole request.
    public var timeout: Duration
    /// The pinned agent key and the host's client certificate; `nil` for plain HTTP.
    public var tls: CurlTLS?
    /// Which answers outside 200...299 reach the generated client: `nil` passes every one (as its documented
    /// response or the operation's `default` case); a set passes only its statuses and throws any other as
    /// ``CurlError/Code/httpStatus`` with the status and the agent's body, as ``CurlClient/get(_:as:)`` does.
    public var passedErrorStatuses: Set<Int>?

    /// - Parameters:
    ///   - curl: The shared curl client.
    ///   - bearerToken: The agent's token.
    ///   - connectTimeout: The deadline to connect.
    ///   - timeout: The deadline of each whole request.
    ///   - tls: The pinned agent key and the client certificate, for an agent that speaks TLS.
    ///   - passedErrorStatuses: The statuses outside 200...299 answered to the generated client, or `nil` for all.
    public init(
        curl: CurlClient, bearerToken: String? = nil, connectTimeout: Duration = .seconds(5),
        timeout: Duration = .seconds(30), tls: CurlTLS? = nil, passedErrorStatuses: Set<Int>? = nil
    ) {
        self.curl = curl
        self.bearerToken = bearerToken
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.tls = tls
        self.passedErrorStatuses = passedErrorStatuses
    }

    /// Sends one request of the generated client and returns the agent's answer.
    /// - Throws: ``CurlError`` when no answer arrives or its status is not passed (``passedErrorStatuses``); the
    ///   generated client wraps it in its `ClientError`. The runtime's error when the body is larger than
    ///   ``maximumRequestBodySize``.
    public func send(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var headers: [String: String] = [:]
        for field in request.headerFields {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let bytes: [UInt8]? =
            if let body { try await [UInt8](collecting: body, upTo: Self.maximumRequestBodySize) } else { nil }
        var url = baseURL.absoluteString
        if url.hasSuffix("/") { url.removeLast() }
        url += request.path ?? ""
        let method = CurlMethod(rawValue: request.method.rawValue)
        let response = try await curl.perform(
            CurlRequest(
                method: method, url: url, headers: headers, body: bytes, bearerToken: bearerToken,
                connectTimeout: connectTimeout, timeout: timeout, tls: tls))
        if let passedErrorStatuses, !response.isSuccess, !passedErrorStatuses.contains(response.status) {
            throw CurlError(
                code: .httpStatus, message: "server answered HTTP \(response.status): \(response.bodyText.prefix(512))",
                method: method.rawValue, url: url, status: response.status, body: response.body)
        }
        var fields = HTTPFields()
        for (name, value) in response.headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        let answer = HTTPResponse(status: .init(code: response.status), headerFields: fields)
        return (answer, response.body.isEmpty ? nil : HTTPBody(response.body))
    }
}

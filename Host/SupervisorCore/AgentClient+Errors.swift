public import AgentAPI
public import Curl
import Foundation

extension AgentClient {
    /// `GET /v1/errors`: recent classified errors from the guest's logs, newest first.
    /// - Parameters:
    ///   - since: Only errors last seen at or after this time (ISO 8601 or Unix seconds, passed through).
    ///   - category: Only this category, such as `NETWORK_FAILURE`.
    ///   - limit: The most entries (the agent accepts 1…1000).
    /// - Throws: ``CurlError``: transport failure, an HTTP status with the agent's error body (400 names the bad
    ///   parameter), or an undecodable answer.
    public func errors(since: String? = nil, category: String? = nil, limit: Int? = nil) async throws(CurlError)
        -> ErrorsResponse
    {
        var items: [String] = []
        if let since { items.append("since=\(Self.queryEscaped(since))") }
        if let category { items.append("category=\(Self.queryEscaped(category))") }
        if let limit { items.append("limit=\(limit)") }
        let query = items.isEmpty ? "" : "?" + items.joined(separator: "&")
        return try await curl.get(request(.get, AgentRoute.errors + query))
    }

    /// `POST /v1/classify`: classifies up to 10,000 lines in the guest's classifier.
    /// - Parameter lines: The raw lines.
    /// - Returns: One verdict per line, in order.
    /// - Throws: ``CurlError``; 413 when there are more than 10,000 lines.
    public func classify(_ lines: [String]) async throws(CurlError) -> ClassifyResponse {
        try await curl.send(
            request(.post, AgentRoute.classify), body: ClassifyRequest(lines: lines), as: ClassifyResponse.self)
    }

    /// `POST /v1/errors/fixes`: records what fixed an error, linked to its template, so that the next occurrence of
    /// the template (or of another template of the same kind) lists it in ``errors(since:category:limit:)``.
    /// - Parameter request: The fix and exactly one of a template or a raw line.
    /// - Returns: The recorded fix.
    /// - Throws: ``CurlError``: 400 naming the bad field, 404 from an agent without fixes, 409 while filesystems are
    ///   frozen, 503 while the memory store is opening or unavailable.
    public func recordFix(_ request: ErrorFixRequest) async throws(CurlError) -> ErrorFixResponse {
        try await curl.send(
            self.request(.post, AgentRoute.errorFixes), body: request, as: ErrorFixResponse.self)
    }

    /// Percent-encodes a query value (everything but unreserved characters).
    static func queryEscaped(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

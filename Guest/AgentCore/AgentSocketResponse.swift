public import AgentAPI
public import AgentBasics
import FoundationEssentials

/// One HTTP answer read from the agent's unix socket.
public struct AgentSocketResponse: Sendable, Equatable {
    /// The HTTP status code.
    public var status: Int
    /// Header fields with lower-cased names; a repeated field keeps its last value.
    public var headers: [String: String]
    /// The body, with any chunked transfer encoding removed.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The body as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Whether the status is 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The agent's `{"error":{"code","message"}}` body, when the body is one.
    public var apiError: APIErrorBody.Detail? {
        (try? JSONDecoder().decode(APIErrorBody.self, from: Data(body)))?.error
    }

    /// Decodes the body as JSON.
    /// - Parameter type: The expected type.
    /// - Throws: ``AgentError`` `bad_response` naming the status and the decoding problem.
    public func decode<Value: Decodable>(_ type: Value.Type) throws(AgentError) -> Value {
        do {
            return try JSONDecoder().decode(Value.self, from: Data(body))
        } catch {
            throw AgentError(.badResponse, "the agent's \(status) answer is not a \(Value.self): \(error)")
        }
    }
}

import AgentBasics
import FoundationEssentials

/// Query parameters: the range checks of the handlers, and the message for a value the generated server cannot
/// read, taken from the parameter's schema in the served document.
enum AgentQuery {
    /// The value of an integer query parameter, checked against `range`.
    /// - Parameters:
    ///   - value: The parameter, `nil` when the query does not have it.
    ///   - name: Its name, for the message.
    ///   - range: The values accepted.
    ///   - fallback: The value when the parameter is absent.
    /// - Throws: ``AgentError`` `bad_request` naming the parameter, its range and the value.
    static func integer(
        _ value: (some BinaryInteger)?, name: String, range: ClosedRange<Int>, default fallback: Int
    ) throws(AgentError) -> Int {
        guard let value else { return fallback }
        guard let number = Int(exactly: value), range.contains(number) else {
            throw AgentError(
                .badRequest,
                "\(name): must be an integer from \(range.lowerBound) to \(range.upperBound), not '\(value)'")
        }
        return number
    }

    /// Why the document refuses one of the query parameters of a request to `operationID`, such as
    /// `limit: must be an integer from 1 to 1000, not 'many'`; `nil` when it refuses none.
    /// - Parameters:
    ///   - operationID: The operation's `operationId`.
    ///   - query: The request's query string, after the `?`.
    static func refusal(operationID: String, query: Substring) -> String? {
        guard let parameters = documented[operationID] else { return nil }
        for item in query.split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let value = parts.count > 1 ? String(parts[1]) : ""
            guard let schema = parameters[String(parts[0])], let expected = schema.expectation(refusing: value) else {
                continue
            }
            return "\(parts[0]): must be \(expected), not '\(value)'"
        }
        return nil
    }

    /// The schemas of every operation's query parameters by operation and name, read from the document once.
    private static let documented: [String: [String: ParameterSchema]] = {
        guard
            let document = try? JSONDecoder().decode(
                DocumentParameters.self, from: Data(AgentOpenAPI.document.utf8))
        else { return [:] }
        var table: [String: [String: ParameterSchema]] = [:]
        for operation in document.paths.values.flatMap(\.values) {
            guard let id = operation.operationId else { continue }
            for parameter in operation.parameters ?? [] where parameter.in == "query" {
                if let name = parameter.name, let schema = parameter.schema { table[id, default: [:]][name] = schema }
            }
        }
        return table
    }()

    /// The part of the document read for the messages: each operation's parameters.
    private struct DocumentParameters: Decodable {
        struct Operation: Decodable {
            var operationId: String?
            var parameters: [Parameter]?
        }
        struct Parameter: Decodable {
            var `in`: String?
            var name: String?
            var schema: ParameterSchema?
        }
        var paths: [String: [String: Operation]]
    }

    /// A query parameter's schema: its type, bounds and allowed values.
    private struct ParameterSchema: Decodable {
        var type: String?
        var minimum: Int?
        var maximum: Int?
        var `enum`: [String]?

        /// What the parameter must be when `value` is not that, such as `combined, stdout or stderr`.
        func expectation(refusing value: String) -> String? {
            if let allowed = self.enum, !allowed.contains(value) {
                return allowed.count > 1
                    ? allowed.dropLast().joined(separator: ", ") + " or " + (allowed.last ?? "") : allowed.joined()
            }
            guard type == "integer", Int(value) == nil else { return nil }
            switch (minimum, maximum) {
            case (let lower?, let upper?): return "an integer from \(lower) to \(upper)"
            case (let lower?, nil): return "an integer from \(lower) to \(Int.max)"
            default: return "an integer"
            }
        }
    }
}

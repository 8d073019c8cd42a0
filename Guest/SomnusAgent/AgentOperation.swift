import AgentCore
import FoundationEssentials
import MCPStdio

/// One operation of the agent's OpenAPI document as an MCP tool calls it: its method, path, path and query
/// parameters and JSON request body, every `$ref` resolved. A tool's input schema and the request it sends both
/// come from here, so a field added to the document shows up in the tool.
struct AgentOperation: Sendable {
    /// A path or query parameter.
    struct Parameter: Sendable {
        var name: String
        var inPath: Bool
        var required: Bool
        /// The parameter's schema, resolved, with the parameter's description when the schema has none.
        var schema: JSONValue
    }

    /// The HTTP method, upper case.
    let method: String
    /// The path template, such as `/v1/memories/{id}`.
    let path: String
    let parameters: [Parameter]
    /// The `application/json` request body's schema, resolved, or `nil` when the operation takes no body.
    let body: JSONValue?

    /// Finds an operation of the agent's own document (`AgentAPIDocument`) by its `operationId`.
    /// - Throws: ``MCPToolError`` when the document is not JSON or has no such operation.
    init(_ operationID: String) throws(MCPToolError) {
        try self.init(operationID, in: try Self.agentDocument())
    }

    /// The agent's own OpenAPI document, decoded.
    /// - Throws: ``MCPToolError`` when it is not JSON.
    static func agentDocument() throws(MCPToolError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(AgentAPIDocument.json.utf8))
        } catch {
            throw MCPToolError(message: "the agent's OpenAPI document is not JSON: \(error)")
        }
    }

    /// Finds an operation by its `operationId`.
    /// - Parameters:
    ///   - operationID: The operation's `operationId`.
    ///   - document: The OpenAPI document.
    /// - Throws: ``MCPToolError`` when the document has no such operation or a `$ref` leads nowhere.
    init(_ operationID: String, in document: JSONValue) throws(MCPToolError) {
        for (path, item) in document.member("paths")?.objectValue ?? [:] {
            for (method, operation) in item.objectValue ?? [:]
            where operation.member("operationId")?.stringValue == operationID {
                self.method = method.uppercased()
                self.path = path
                var parameters: [Parameter] = []
                for parameter in operation.member("parameters")?.arrayValue ?? [] {
                    let resolved = try Self.resolve(parameter, in: document)
                    guard let name = resolved.member("name")?.stringValue,
                        let location = resolved.member("in")?.stringValue, location == "path" || location == "query",
                        var schema = try Self.resolve(resolved.member("schema") ?? [:], in: document).objectValue
                    else {
                        throw MCPToolError(message: "\(operationID): a parameter is not a path or query parameter")
                    }
                    if schema["description"] == nil { schema["description"] = resolved.member("description") }
                    parameters.append(
                        Parameter(
                            name: name, inPath: location == "path",
                            required: resolved.member("required") == .bool(true), schema: .object(schema)))
                }
                self.parameters = parameters
                let schema = operation.member("requestBody")?.member("content")?.member("application/json")?
                    .member("schema")
                self.body = try schema.map { schema throws(MCPToolError) in try Self.resolve(schema, in: document) }
                return
            }
        }
        throw MCPToolError(message: "the agent's OpenAPI document has no operation '\(operationID)'")
    }

    /// The JSON Schema of a tool's arguments: the request body's schema with the parameters added as properties.
    ///
    /// Arguments the tool fills in when they are missing are not required and carry their `default`. `oneOf`,
    /// `anyOf` and `allOf` at the top level are left out: Anthropic's API (and so Claude's MCP clients) refuses a
    /// tool whose schema has them there; the agent still enforces them (400 naming the field) and the schema's
    /// `description` says them.
    /// - Parameter defaults: The values the tool sends for missing arguments.
    func inputSchema(defaults: [String: JSONValue]) -> JSONValue {
        var schema = body?.objectValue ?? ["type": "object"]
        var properties = schema["properties"]?.objectValue ?? [:]
        var required = (schema["required"]?.arrayValue ?? []).compactMap(\.stringValue)
        for parameter in parameters {
            properties[parameter.name] = parameter.schema
            if parameter.required && !required.contains(parameter.name) { required.append(parameter.name) }
        }
        for (name, value) in defaults {
            required.removeAll { $0 == name }
            if var property = properties[name]?.objectValue {
                property["default"] = value
                properties[name] = .object(property)
            }
        }
        for key in ["oneOf", "anyOf", "allOf"] { schema[key] = nil }
        schema["properties"] = .object(properties)
        schema["required"] = required.isEmpty ? nil : .array(required.map { .string($0) })
        return .object(schema)
    }

    /// The path with its query and the JSON body for a tool's arguments.
    /// - Parameters:
    ///   - arguments: The tool's arguments; those that are neither parameters nor body properties are ignored.
    ///   - defaults: The values sent for missing arguments.
    /// - Throws: ``MCPToolError`` naming a required argument that is missing (or not a string where a string is
    ///   required), or a parameter of the wrong type.
    func request(
        _ arguments: [String: JSONValue], defaults: [String: JSONValue]
    ) throws(MCPToolError) -> (path: String, body: [UInt8]?) {
        let schema = inputSchema(defaults: defaults)
        let properties = schema.member("properties")?.objectValue ?? [:]
        for name in (schema.member("required")?.arrayValue ?? []).compactMap(\.stringValue) {
            let isString = properties[name]?.member("type") == "string"
            guard let value = arguments[name], !isString || value.stringValue != nil else {
                throw MCPToolError(message: "\(name): is required" + (isString ? " and must be a string" : ""))
            }
        }
        let arguments = arguments.merging(defaults) { given, _ in given }
        let path = try path(arguments)
        guard let body else { return (path, nil) }
        let names = Set(body.member("properties")?.objectValue?.keys.map { $0 } ?? [])
        do {
            return (path, Array(try JSONEncoder().encode(arguments.filter { names.contains($0.key) })))
        } catch {
            throw MCPToolError(message: "cannot encode the request: \(error)")
        }
    }

    /// The path with its path parameters filled in and its query parameters appended, percent-encoded; arguments
    /// that are not parameters are ignored, a missing optional parameter is left out.
    /// - Throws: ``MCPToolError`` naming a path parameter that is missing, or a parameter of the wrong type.
    func path(_ arguments: [String: JSONValue]) throws(MCPToolError) -> String {
        var path = path
        var query: [String] = []
        for parameter in parameters {
            guard let value = arguments[parameter.name] else {
                if parameter.inPath { throw MCPToolError(message: "\(parameter.name): is required") }
                continue
            }
            let text = try Self.text(of: value, named: parameter.name, schema: parameter.schema)
            if parameter.inPath {
                path = path.replacing("{\(parameter.name)}", with: MemoryCLI.escape(text))
            } else {
                query.append("\(parameter.name)=\(MemoryCLI.escape(text))")
            }
        }
        if !query.isEmpty { path += "?" + query.joined(separator: "&") }
        return path
    }

    /// A parameter's value as it goes into the path or query.
    private static func text(of value: JSONValue, named name: String, schema: JSONValue) throws(MCPToolError) -> String
    {
        let type = schema.member("type")?.stringValue
        switch value {
        case .string(let text) where type == nil || type == "string": return text
        case .bool(let flag) where type == nil || type == "boolean": return "\(flag)"
        case .int, .double:
            if type == "integer" || type == nil, let number = value.intValue { return "\(number)" }
            if type == "number" || type == nil, case .double(let number) = value { return "\(number)" }
            if type == "number", let number = value.intValue { return "\(number)" }
        default: break
        }
        throw MCPToolError(message: "\(name): must be \(type == "integer" ? "an" : "a") \(type ?? "scalar")")
    }

    /// `value` with every `#/…` `$ref` replaced by what it points to (a `$ref`'s sibling keys win).
    private static func resolve(
        _ value: JSONValue, in document: JSONValue, through seen: [String] = []
    ) throws(MCPToolError) -> JSONValue {
        switch value {
        case .object(let members):
            var resolved: [String: JSONValue] = [:]
            if let reference = members["$ref"]?.stringValue {
                guard reference.hasPrefix("#/"), !seen.contains(reference) else {
                    throw MCPToolError(message: "the agent's OpenAPI document cannot resolve '\(reference)'")
                }
                var target = document
                for token in reference.dropFirst(2).split(separator: "/") {
                    let key = String(token).replacing("~1", with: "/").replacing("~0", with: "~")
                    guard let next = target.member(key) else {
                        throw MCPToolError(message: "the agent's OpenAPI document has nothing at '\(reference)'")
                    }
                    target = next
                }
                resolved = try resolve(target, in: document, through: seen + [reference]).objectValue ?? [:]
            }
            for (key, member) in members where key != "$ref" {
                resolved[key] = try resolve(member, in: document, through: seen)
            }
            return .object(resolved)
        case .array(let items):
            var resolved: [JSONValue] = []
            for item in items { resolved.append(try resolve(item, in: document, through: seen)) }
            return .array(resolved)
        default:
            return value
        }
    }
}

extension JSONValue {
    /// The object's member `key`, or `nil`.
    fileprivate func member(_ key: String) -> JSONValue? { objectValue?[key] }

    /// The array's items, or `nil` for any other kind of value.
    fileprivate var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

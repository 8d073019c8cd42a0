/// One tool as `tools/list` announces it.
public struct MCPTool: Sendable, Equatable {
    /// The name clients call it by.
    public var name: String
    /// What it does, for the model.
    public var description: String
    /// A JSON Schema object describing its arguments.
    public var inputSchema: JSONValue

    /// Describes a tool.
    /// - Parameters:
    ///   - name: The name clients call it by.
    ///   - description: What it does, for the model.
    ///   - inputSchema: A JSON Schema object describing its arguments.
    public init(name: String, description: String, inputSchema: JSONValue) {
        self.name = name
        self.description = description
        self.inputSchema = inputSchema
    }

    var json: JSONValue {
        ["name": .string(name), "description": .string(description), "inputSchema": inputSchema]
    }
}

/// What a tool call produced: one text content, and whether it is a failure the model should see.
public struct MCPToolResult: Sendable, Equatable {
    /// The text shown to the model.
    public var text: String
    /// Whether the tool failed (a tool-level error, not a protocol error).
    public var isError: Bool

    /// A result.
    /// - Parameters:
    ///   - text: The text shown to the model.
    ///   - isError: Whether the tool failed.
    public init(text: String, isError: Bool = false) {
        self.text = text
        self.isError = isError
    }

    var json: JSONValue {
        ["content": [["type": "text", "text": .string(text)]], "isError": .bool(isError)]
    }
}

// Prints the YAML document named by the only argument as compact JSON, keys in the document's order.
import Foundation
import Yams

/// The JSON text of one YAML node; a scalar keeps the type YAML's resolver gives it (quoted ones are strings).
func json(_ node: Node) throws -> String {
    switch node {
    case .scalar(let scalar):
        let literal: String? =
            switch Tag.Name(rawValue: node.tag.description) {
            case .null: "null"
            case .bool: node.bool.map { $0 ? "true" : "false" }
            case .int: node.int.map(String.init)
            case .float: node.float.map { String($0) }
            default: nil
            }
        return try literal ?? quoted(scalar.string)
    case .mapping(let mapping):
        let members = try mapping.map { key, value in "\(try quoted(key.string ?? "")):\(try json(value))" }
        return "{" + members.joined(separator: ",") + "}"
    case .sequence(let sequence):
        return "[" + (try sequence.map(json).joined(separator: ",")) + "]"
    case .alias:
        throw ConversionError("YAML aliases are not supported")
    }
}

/// A JSON string literal.
func quoted(_ text: String) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = .withoutEscapingSlashes
    let data = try encoder.encode(text)
    return String(decoding: data, as: UTF8.self)
}

struct ConversionError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: openapi-yaml-to-json DOCUMENT.yaml\n".utf8))
    exit(2)
}
let text = try String(contentsOfFile: arguments[1], encoding: .utf8)
guard let root = try Yams.compose(yaml: text) else { throw ConversionError("\(arguments[1]) is empty") }
print(try json(root))

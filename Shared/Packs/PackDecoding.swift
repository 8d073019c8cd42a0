import FoundationEssentials

/// Any JSON object key, used to see every key an object has.
struct PackAnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

/// Thrown inside `init(from:)` for a value the format refuses; carries its own code.
struct PackFieldProblem: Error {
    var code: PackError.Code
    var path: [any CodingKey]
    var problem: String
}

extension Decoder {
    /// Refuses keys outside `known`, naming the first unknown one.
    func rejectUnknownKeys(_ known: [String]) throws {
        let all = try container(keyedBy: PackAnyKey.self)
        let allowed = Set(known)
        if let unknown = all.allKeys.map(\.stringValue).sorted().first(where: { !allowed.contains($0) }) {
            throw PackFieldProblem(
                code: .unknownKey, path: codingPath + [PackAnyKey(stringValue: unknown)],
                problem: "is not a known key (known: \(known.joined(separator: ", ")))")
        }
    }
}

extension KeyedDecodingContainer {
    /// A problem with the value at `key`.
    func problem(_ key: Key, _ text: String) -> PackFieldProblem {
        PackFieldProblem(code: .invalidField, path: codingPath + [key], problem: text)
    }
}

extension PackError {
    /// Turns an error thrown while decoding a pack (a `DecodingError` or a field problem) into a ``PackError``
    /// naming the source and the field.
    /// - Parameters:
    ///   - error: What `JSONDecoder` threw.
    ///   - source: The file name (or `request body`) used in the message.
    /// - Returns: The error to report.
    public static func decoding(_ error: any Error, source: String) -> PackError {
        if let error = error as? PackError { return error }
        if let problem = error as? PackFieldProblem {
            return located(problem.code, path: problem.path, problem.problem, source: source)
        }
        guard let error = error as? DecodingError else {
            return PackError(.malformed, "\(source): \(error)", file: source, cause: error)
        }
        switch error {
        case .typeMismatch(let type, let context):
            return located(.invalidField, path: context.codingPath, "must be \(Self.typeName(type))", source: source)
        case .valueNotFound(let type, let context):
            return located(.invalidField, path: context.codingPath, "must be \(Self.typeName(type))", source: source)
        case .keyNotFound(let key, let context):
            return located(.missingField, path: context.codingPath + [key], "is missing", source: source)
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return PackError(.malformed, "\(source): is not valid JSON", file: source, cause: error)
            }
            return located(.invalidField, path: context.codingPath, context.debugDescription, source: source)
        @unknown default:
            return PackError(.malformed, "\(source): \(error)", file: source, cause: error)
        }
    }

    /// A field path such as `steps[2].shell.timeout_s`.
    static func fieldPath(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    private static func located(_ code: Code, path: [any CodingKey], _ problem: String, source: String) -> PackError {
        let field = fieldPath(path)
        let subject = field.isEmpty ? "the document" : field
        return PackError(code, "\(source): \(subject) \(problem)", file: source, field: field.isEmpty ? nil : field)
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type: "an integer"
        case is Bool.Type: "true or false"
        case is [String].Type: "an array of strings"
        case is [Any].Type: "an array"
        default:
            if "\(type)".hasPrefix("Array") {
                "an array"
            } else if "\(type)".hasPrefix("Dictionary") {
                "an object"
            } else {
                "an object"
            }
        }
    }
}

/// Checks shared by several fields.
enum PackRules {
    /// `[a-z0-9_]+`, at most 64 characters.
    static func isPackName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }
    }

    /// A Debian package name (`[a-z0-9][a-z0-9+.-]+`).
    static func isDebianPackage(_ text: String) -> Bool {
        guard let first = text.utf8.first, text.utf8.count >= 2, isLowerAlnum(first) else { return false }
        return text.utf8.allSatisfy { isLowerAlnum($0) || $0 == 0x2b || $0 == 0x2e || $0 == 0x2d }
    }

    /// A pip requirement without options or URLs: `name[extra,…]` followed by version clauses such as
    /// `>=1.2,<2`.
    static func isPipRequirement(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first.properties.isAlphabetic || ("0"..."9").contains(first)
        else { return false }
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-[],=<>!~*+")
        return text.count <= 200 && text.allSatisfy { allowed.contains($0) }
    }

    /// `[0-9A-Za-z.+~-]+`, at most 64 characters.
    static func isVersion(_ text: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~-")
        return !text.isEmpty && text.count <= 64 && text.allSatisfy { allowed.contains($0) }
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
    }
}

extension JSONDecoder {
    /// The decoder every pack file goes through.
    static var pack: JSONDecoder { JSONDecoder() }
}

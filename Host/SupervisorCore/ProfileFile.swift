import Foundation

extension ProfileCatalog {
    /// Reads custom profiles from a JSON file mapping each name to its sizes:
    ///
    /// ```json
    /// {"build": {"vcpus": 2, "memory_mib": 3072, "gpu": false, "summary": "CI builds."}}
    /// ```
    ///
    /// `vcpus` (1–256) and `memory_mib` (256–4194304) are required; `gpu` (default `false`) and `summary` are
    /// optional; any other field is refused so a typo is not silently ignored.
    /// - Parameter path: The file.
    /// - Returns: The profiles, sorted by name.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` naming the file, the profile and the field.
    public static func loadCustomProfiles(file path: String) throws(SupervisorError) -> [ResourceProfile] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SupervisorError(.invalidArgument, "cannot read the profiles file \(path)", cause: error)
        }
        let parsed: ProfileJSON
        do {
            parsed = try JSONDecoder().decode(ProfileJSON.self, from: data)
        } catch {
            throw SupervisorError(.invalidArgument, "\(path) is not valid JSON", cause: error)
        }
        guard case .object(let entries) = parsed else {
            throw SupervisorError(
                .invalidArgument, "\(path): the top level must be an object mapping profile names to their sizes")
        }
        var profiles: [ResourceProfile] = []
        for (name, value) in entries.sorted(by: { $0.key < $1.key }) {
            profiles.append(try profile(name: name, value: value, file: path))
        }
        return profiles
    }

    private static func profile(name: String, value: ProfileJSON, file: String) throws(SupervisorError)
        -> ResourceProfile
    {
        func invalid(_ message: String) -> SupervisorError {
            SupervisorError(.invalidArgument, "\(file): profile '\(name)': \(message)")
        }
        let nameOK = name.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "-")
        }
        guard !name.isEmpty, name.utf8.count <= 32, nameOK else {
            throw invalid("the name must be 1-32 lowercase letters, digits, '_' or '-'")
        }
        guard case .object(let fields) = value else {
            throw invalid("must be an object with vcpus and memory_mib")
        }
        let known: Set<String> = ["vcpus", "memory_mib", "gpu", "summary"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw invalid("unknown field '\(unknown)' (known: gpu, memory_mib, summary, vcpus)")
        }
        func integer(_ field: String, _ range: ClosedRange<Int>) throws(SupervisorError) -> Int {
            guard let raw = fields[field] else {
                throw invalid("field '\(field)' is missing")
            }
            guard case .number(let number) = raw, let integer = Int(exactly: number), range.contains(integer) else {
                throw invalid(
                    "field '\(field)' must be an integer in \(range.lowerBound)...\(range.upperBound), got \(raw)")
            }
            return integer
        }
        let vcpus = try integer("vcpus", 1...256)
        let memory = try integer("memory_mib", 256...4_194_304)
        var gpu = false
        if let raw = fields["gpu"] {
            guard case .bool(let flag) = raw else {
                throw invalid("field 'gpu' must be true or false, got \(raw)")
            }
            gpu = flag
        }
        var summary = "Custom profile from \(file)."
        if let raw = fields["summary"] {
            guard case .string(let text) = raw else {
                throw invalid("field 'summary' must be a string")
            }
            summary = text
        }
        return ResourceProfile(name: name, vcpus: vcpus, memoryMiB: memory, gpu: gpu, summary: summary)
    }
}

/// Any JSON value, decoded strictly enough to tell `true` from `1` and `"2"` from `2`.
enum ProfileJSON: Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([ProfileJSON])
    case object([String: ProfileJSON])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: ProfileJSON].self) {
            self = .object(value)
        } else {
            self = .array(try container.decode([ProfileJSON].self))
        }
    }

    /// The value as it would appear in JSON, for error messages.
    var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .number(let value): Int(exactly: value).map(String.init) ?? "\(value)"
        case .string(let value): "\"\(value)\""
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// What one log line names: the values the classifier could pull out of it.
public struct LogEntities: Codable, Sendable, Hashable {
    /// A language module or package (`torch`, `express`).
    public var module: String?
    /// A shared library (`libGL.so.1`).
    public var library: String?
    /// An executable (`nvcc`).
    public var command: String?
    /// A header file (`Python.h`).
    public var header: String?
    /// A host name or IP address.
    public var host: String?
    /// A TCP/UDP port.
    public var port: Int?
    /// A file system path.
    public var path: String?
    /// A process exit status.
    public var exitStatus: Int?
    /// A signal name or number (`SIGKILL`, `6`).
    public var signal: String?

    enum CodingKeys: String, CodingKey {
        case module, library, command, header, host, port, path
        case exitStatus = "exit_status"
        case signal
    }

    /// Creates entities; every field defaults to absent.
    public init(
        module: String? = nil, library: String? = nil, command: String? = nil, header: String? = nil,
        host: String? = nil, port: Int? = nil, path: String? = nil, exitStatus: Int? = nil, signal: String? = nil
    ) {
        self.module = module
        self.library = library
        self.command = command
        self.header = header
        self.host = host
        self.port = port
        self.path = path
        self.exitStatus = exitStatus
        self.signal = signal
    }

    /// Whether no entity was found.
    public var isEmpty: Bool {
        self == LogEntities()
    }
}

/// The verdict on one log line (or one grouped event). Immutable, like the verdict it is.
///
/// JSON keys are snake_case: `category`, `kind`, `confidence`, `template`, `suggestion`, `entities`.
public struct LogClassification: Codable, Sendable, Hashable {
    /// The fields, behind one reference: a copy (every cache hit hands one out) costs one retain, not one per string.
    private let box: Box

    private final class Box: Sendable {
        let fields: Fields

        init(_ fields: Fields) {
            self.fields = fields
        }
    }

    private struct Fields: Codable, Sendable, Hashable {
        let category: LogCategory
        let kind: LogKind
        let confidence: Double
        let template: String
        let suggestion: String?
        let entities: LogEntities
    }

    /// The coarse class.
    public var category: LogCategory { box.fields.category }
    /// The finer label.
    public var kind: LogKind { box.fields.kind }
    /// How sure the classifier is, 0…1.
    public var confidence: Double { box.fields.confidence }
    /// The line with numbers, hex, UUIDs, IPs, URLs, paths and versions masked (`<n>`, `<hex>`, `<path>`, …).
    public var template: String { box.fields.template }
    /// A concrete next step, or `nil` for `OTHER`.
    public var suggestion: String? { box.fields.suggestion }
    /// Values named by the line.
    public var entities: LogEntities { box.fields.entities }

    /// Creates a classification.
    public init(
        category: LogCategory, kind: LogKind, confidence: Double, template: String, suggestion: String?,
        entities: LogEntities
    ) {
        box = Box(
            Fields(
                category: category, kind: kind, confidence: confidence, template: template, suggestion: suggestion,
                entities: entities))
    }

    public init(from decoder: any Decoder) throws {
        box = Box(try Fields(from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try box.fields.encode(to: encoder)
    }

    public static func == (left: LogClassification, right: LogClassification) -> Bool {
        left.box === right.box || left.box.fields == right.box.fields
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(box.fields)
    }
}

/// The name the design brief uses for ``LogClassification``.
public typealias Classification = LogClassification

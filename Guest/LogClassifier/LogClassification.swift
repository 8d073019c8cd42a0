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

/// The verdict on one log line (or one grouped event).
///
/// JSON keys are snake_case: `category`, `kind`, `confidence`, `template`, `suggestion`, `entities`.
public struct LogClassification: Codable, Sendable, Hashable {
    /// The fields, behind one reference: a copy (every cache hit hands one out) costs one retain, not one per string.
    private var box: Box

    private final class Box: Sendable {
        let fields: Fields

        init(_ fields: Fields) {
            self.fields = fields
        }
    }

    private struct Fields: Codable, Sendable, Hashable {
        var category: LogCategory
        var kind: LogKind
        var confidence: Double
        var template: String
        var suggestion: String?
        var entities: LogEntities
    }

    /// The coarse class.
    public var category: LogCategory {
        get { box.fields.category }
        set { update { $0.category = newValue } }
    }
    /// The finer label.
    public var kind: LogKind {
        get { box.fields.kind }
        set { update { $0.kind = newValue } }
    }
    /// How sure the classifier is, 0…1.
    public var confidence: Double {
        get { box.fields.confidence }
        set { update { $0.confidence = newValue } }
    }
    /// The line with numbers, hex, UUIDs, IPs, URLs, paths and versions masked (`<n>`, `<hex>`, `<path>`, …).
    public var template: String {
        get { box.fields.template }
        set { update { $0.template = newValue } }
    }
    /// A concrete next step, or `nil` for `OTHER`.
    public var suggestion: String? {
        get { box.fields.suggestion }
        set { update { $0.suggestion = newValue } }
    }
    /// Values named by the line.
    public var entities: LogEntities {
        get { box.fields.entities }
        set { update { $0.entities = newValue } }
    }

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

    /// Changes a copy of the fields (the box is shared, so it is never changed in place).
    private mutating func update(_ change: (inout Fields) -> Void) {
        var fields = box.fields
        change(&fields)
        box = Box(fields)
    }
}

/// The name the design brief uses for ``LogClassification``.
public typealias Classification = LogClassification

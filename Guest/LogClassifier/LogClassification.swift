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
    /// The coarse class.
    public var category: LogCategory
    /// The finer label.
    public var kind: LogKind
    /// How sure the classifier is, 0…1.
    public var confidence: Double
    /// The line with numbers, hex, UUIDs, IPs, URLs, paths and versions masked (`<n>`, `<hex>`, `<path>`, …).
    public var template: String
    /// A concrete next step, or `nil` for `OTHER`.
    public var suggestion: String?
    /// Values named by the line.
    public var entities: LogEntities

    /// Creates a classification.
    public init(
        category: LogCategory, kind: LogKind, confidence: Double, template: String, suggestion: String?,
        entities: LogEntities
    ) {
        self.category = category
        self.kind = kind
        self.confidence = confidence
        self.template = template
        self.suggestion = suggestion
        self.entities = entities
    }
}

/// The name the design brief uses for ``LogClassification``.
public typealias Classification = LogClassification

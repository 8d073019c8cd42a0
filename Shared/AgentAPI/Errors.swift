extension AgentRoute {
    /// `GET`: recent classified errors from the guest's logs, newest first, with counts per template.
    public static let errors = "/v1/errors"
    /// `POST`: classify ad-hoc log lines.
    public static let classify = "/v1/classify"
    /// `POST`: record the fix of an error, so that the next occurrence of its template carries it.
    public static let errorFixes = "/v1/errors/fixes"
}

/// What one classified line or event names, as the wire carries it; absent values are left out.
public struct ErrorEntities: Codable, Sendable, Equatable {
    /// A language module or package (`torch`).
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
    /// A signal name or number.
    public var signal: String?

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

    enum CodingKeys: String, CodingKey {
        case module, library, command, header, host, port, path, signal
        case exitStatus = "exit_status"
    }
}

/// The classifier's verdict on one line: `{"category","kind","confidence","template","suggestion","entities"}`.
public struct ClassifiedLine: Codable, Sendable, Equatable {
    /// `CUDA_ERROR`, `NETWORK_FAILURE`, `DEPENDENCY_MISSING`, `RUNTIME_ERROR` or `OTHER`.
    public var category: String
    /// The finer label, such as `missing_module` or `timeout` (`none` for `OTHER`).
    public var kind: String
    /// How sure the classifier is, 0…1.
    public var confidence: Double
    /// The line with its variable parts masked.
    public var template: String
    /// A concrete next step, absent for `OTHER`.
    public var suggestion: String?
    /// Values the line names.
    public var entities: ErrorEntities

    /// Creates a verdict.
    public init(
        category: String, kind: String, confidence: Double, template: String, suggestion: String?,
        entities: ErrorEntities
    ) {
        self.category = category
        self.kind = kind
        self.confidence = confidence
        self.template = template
        self.suggestion = suggestion
        self.entities = entities
    }
}

/// One distinct error in `GET /v1/errors`: every event with the same category and template folds into it.
public struct ErrorEntry: Codable, Sendable, Equatable {
    /// Where it was first read: the log file's configured name, or `journal:<identifier>`.
    public var source: String
    /// The first occurrence's line (for a multi-line trace, its deciding exception line).
    public var line: String
    /// The first occurrence's lines when it was a multi-line trace (at most 50), otherwise empty.
    public var trace: [String]
    /// The verdict of the first occurrence.
    public var classification: ClassifiedLine
    /// How many events had this category and template.
    public var count: Int
    /// When it was first seen, in seconds since 1970.
    public var firstSeen: Double
    /// When it was last seen, in seconds since 1970.
    public var lastSeen: Double
    /// Recorded fixes of the same template or kind, at most 3, best first; empty when none (and when an agent
    /// without fixes answered).
    public var fixes: [ErrorFix]

    /// Creates an entry.
    public init(
        source: String, line: String, trace: [String], classification: ClassifiedLine, count: Int,
        firstSeen: Double, lastSeen: Double, fixes: [ErrorFix] = []
    ) {
        self.source = source
        self.line = line
        self.trace = trace
        self.classification = classification
        self.count = count
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.fixes = fixes
    }

    enum CodingKeys: String, CodingKey {
        case source, line, trace, classification, count, fixes
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }

    /// Decodes an entry; a missing `fixes` (an agent without fixes) is empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        source = try container.decode(String.self, forKey: .source)
        line = try container.decode(String.self, forKey: .line)
        trace = try container.decode([String].self, forKey: .trace)
        classification = try container.decode(ClassifiedLine.self, forKey: .classification)
        count = try container.decode(Int.self, forKey: .count)
        firstSeen = try container.decode(Double.self, forKey: .firstSeen)
        lastSeen = try container.decode(Double.self, forKey: .lastSeen)
        fixes = try container.decodeIfPresent([ErrorFix].self, forKey: .fixes) ?? []
    }
}

/// How a recorded fix matches an error.
public enum ErrorFixMatch: String, Codable, Sendable, Hashable {
    /// It was recorded for the same template.
    case template
    /// It was recorded for another template of the same category and kind.
    case kind
}

/// A fix recorded for an error (an `error_fix` memory), as `GET /v1/errors` and `POST /v1/errors/fixes` carry it.
public struct ErrorFix: Codable, Sendable, Equatable {
    /// The id of the `error_fix` memory holding it.
    public var memoryID: String
    /// What fixed the error.
    public var fix: String
    /// The template it was recorded for.
    public var template: String
    /// How it matches the error it is listed with.
    public var match: ErrorFixMatch
    /// How well it fits, 0…1: a template match scores 0.75…1, a kind match 0.375…0.5, higher when it was recorded
    /// with the same line and when its text shares more of the error line's words.
    public var score: Double
    /// When it was recorded, in seconds since 1970.
    public var createdAt: Double

    /// Creates a fix.
    public init(memoryID: String, fix: String, template: String, match: ErrorFixMatch, score: Double, createdAt: Double)
    {
        self.memoryID = memoryID
        self.fix = fix
        self.template = template
        self.match = match
        self.score = score
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case fix, template, match, score
        case memoryID = "memory_id"
        case createdAt = "created_at"
    }
}

/// Body of `POST /v1/errors/fixes`: the fix and exactly one of `template` or `line`.
public struct ErrorFixRequest: Codable, Sendable, Equatable {
    /// The most bytes of a fix.
    public static let maximumFixBytes = 65_536
    /// The namespace fixes are stored in and looked up from.
    public static let defaultNamespace = "errors"

    /// What fixed the error (1 byte to 64 KiB).
    public var fix: String
    /// The error's masked template, as `GET /v1/errors` shows it.
    public var template: String?
    /// A raw error line, classified by the agent to find its template.
    public var line: String?
    /// The memory namespace to store into; `errors` when absent.
    public var namespace: String?
    /// Labels of the memory.
    public var tags: [String]?

    /// Creates a request.
    public init(
        fix: String, template: String? = nil, line: String? = nil, namespace: String? = nil, tags: [String]? = nil
    ) {
        self.fix = fix
        self.template = template
        self.line = line
        self.namespace = namespace
        self.tags = tags
    }
}

/// Answer of `POST /v1/errors/fixes`.
public struct ErrorFixResponse: Codable, Sendable, Equatable {
    /// The recorded fix (`match` is `template`).
    public var fix: ErrorFix

    /// Creates an answer.
    public init(fix: ErrorFix) {
        self.fix = fix
    }
}

/// Body of `GET /v1/errors?since=T&category=C&limit=N`.
public struct ErrorsResponse: Codable, Sendable, Equatable {
    /// The matching distinct errors, newest (by ``ErrorEntry/lastSeen``) first.
    public var errors: [ErrorEntry]
    /// Events counted per failure category since the agent's state was created (not filtered by the query).
    public var counts: [String: Int]

    /// Creates an answer.
    public init(errors: [ErrorEntry], counts: [String: Int]) {
        self.errors = errors
        self.counts = counts
    }
}

/// Body of `POST /v1/classify`.
public struct ClassifyRequest: Codable, Sendable, Equatable {
    /// The most lines one request may carry.
    public static let maximumLines = 10_000

    /// The raw lines, without newlines.
    public var lines: [String]

    /// Creates a request.
    public init(lines: [String]) {
        self.lines = lines
    }
}

/// Answer of `POST /v1/classify`: one verdict per request line, in order.
public struct ClassifyResponse: Codable, Sendable, Equatable {
    /// The verdicts.
    public var results: [ClassifiedLine]

    /// Creates an answer.
    public init(results: [ClassifiedLine]) {
        self.results = results
    }
}

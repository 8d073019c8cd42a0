#if canImport(FoundationEssentials)
    public import FoundationEssentials
#else
    public import Foundation
#endif

/// What a memory is about; the types of the original design plus `error_fix`.
public enum MemoryKind: String, Codable, Sendable, Hashable, CaseIterable {
    /// A lasting fact about the user, the project or the world.
    case coreFact = "core_fact"
    /// A conversation turn.
    case conversation
    /// A document or an excerpt of one.
    case document
    /// A piece of source code.
    case codeSnippet = "code_snippet"
    /// The output of a tool call.
    case toolResult = "tool_result"
    /// Something the user told the agent to do (or never do).
    case userDirective = "user_directive"
    /// An event of the system, such as a reboot or a deploy.
    case systemEvent = "system_event"
    /// A standing instruction for the agent.
    case customInstruction = "custom_instruction"
    /// An interaction that is not a conversation turn.
    case interaction
    /// A record of a development session.
    case devSession = "dev_session"
    /// An error and the fix that worked.
    case errorFix = "error_fix"
}

/// How much a memory matters: sets its retention time and its weight in search.
public enum MemoryImportance: String, Codable, Sendable, Hashable, CaseIterable {
    /// Never expires and is never evicted.
    case critical
    /// Kept for 365 days after the last access.
    case high
    /// Kept for 90 days after the last access (the default).
    case medium
    /// Kept for 30 days after the last access.
    case low
    /// Kept for one day after the last access.
    case temporary
}

/// Dates on the memory wire are seconds since 1970 as JSON numbers, like the other AgentAPI timestamps.
enum MemoryWireTime {
    static func encode<K: CodingKey>(_ date: Date?, _ key: K, into container: inout KeyedEncodingContainer<K>)
        throws
    {
        try container.encodeIfPresent(date?.timeIntervalSince1970, forKey: key)
    }

    static func decode<K: CodingKey>(_ key: K, from container: KeyedDecodingContainer<K>) throws -> Date? {
        try container.decodeIfPresent(Double.self, forKey: key).map { Date(timeIntervalSince1970: $0) }
    }

    static func require<K: CodingKey>(_ key: K, from container: KeyedDecodingContainer<K>) throws -> Date {
        Date(timeIntervalSince1970: try container.decode(Double.self, forKey: key))
    }
}

/// One stored memory, as returned by every memory route.
public struct MemoryRecord: Codable, Sendable, Equatable {
    /// The memory's id (a UUID string).
    public var id: String
    /// The scope it belongs to (agent, user or project); see ``isValidNamespace(_:)``.
    public var namespace: String
    /// What it is about.
    public var kind: MemoryKind
    /// The remembered text (at most 64 KiB of UTF-8).
    public var content: String
    /// Free-form labels.
    public var tags: [String]
    /// Free-form key/value pairs.
    public var metadata: [String: String]
    /// How much it matters.
    public var importance: MemoryImportance
    /// When it was first stored.
    public var createdAt: Date
    /// When it was last changed.
    public var updatedAt: Date
    /// When a search or a read last returned it.
    public var lastAccessedAt: Date?
    /// How often it was returned or stored again.
    public var accessCount: Int
    /// When it is deleted regardless of its importance.
    public var expiresAt: Date?
    /// SHA-256 (hex) of the normalized content, used for de-duplication.
    public var contentHash: String

    /// Creates a record.
    public init(
        id: String,
        namespace: String,
        kind: MemoryKind,
        content: String,
        tags: [String] = [],
        metadata: [String: String] = [:],
        importance: MemoryImportance = .medium,
        createdAt: Date,
        updatedAt: Date,
        lastAccessedAt: Date? = nil,
        accessCount: Int = 0,
        expiresAt: Date? = nil,
        contentHash: String
    ) {
        self.id = id
        self.namespace = namespace
        self.kind = kind
        self.content = content
        self.tags = tags
        self.metadata = metadata
        self.importance = importance
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.lastAccessedAt = lastAccessedAt
        self.accessCount = accessCount
        self.expiresAt = expiresAt
        self.contentHash = contentHash
    }

    /// Whether `namespace` is 1–64 characters of `A-Z a-z 0-9 . _ : -`.
    /// - Parameter namespace: The candidate name.
    /// - Returns: `true` when it may be used as a namespace.
    public static func isValidNamespace(_ namespace: String) -> Bool {
        let bytes = namespace.utf8
        guard (1...64).contains(bytes.count) else {
            return false
        }
        return bytes.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5a).contains(byte) || (0x61...0x7a).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "-")
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, namespace, kind, content, tags, metadata, importance
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case lastAccessedAt = "last_accessed_at"
        case accessCount = "access_count"
        case expiresAt = "expires_at"
        case contentHash = "content_hash"
    }

    /// Decodes a record; dates are seconds since 1970.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.namespace = try container.decode(String.self, forKey: .namespace)
        self.kind = try container.decode(MemoryKind.self, forKey: .kind)
        self.content = try container.decode(String.self, forKey: .content)
        self.tags = try container.decodeIfPresent([String].self, forKey: .tags) ?? []
        self.metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        self.importance = try container.decodeIfPresent(MemoryImportance.self, forKey: .importance) ?? .medium
        self.createdAt = try MemoryWireTime.require(.createdAt, from: container)
        self.updatedAt = try MemoryWireTime.require(.updatedAt, from: container)
        self.lastAccessedAt = try MemoryWireTime.decode(.lastAccessedAt, from: container)
        self.accessCount = try container.decodeIfPresent(Int.self, forKey: .accessCount) ?? 0
        self.expiresAt = try MemoryWireTime.decode(.expiresAt, from: container)
        self.contentHash = try container.decode(String.self, forKey: .contentHash)
    }

    /// Encodes a record; dates are seconds since 1970.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(namespace, forKey: .namespace)
        try container.encode(kind, forKey: .kind)
        try container.encode(content, forKey: .content)
        try container.encode(tags, forKey: .tags)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(importance, forKey: .importance)
        try MemoryWireTime.encode(createdAt, .createdAt, into: &container)
        try MemoryWireTime.encode(updatedAt, .updatedAt, into: &container)
        try MemoryWireTime.encode(lastAccessedAt, .lastAccessedAt, into: &container)
        try container.encode(accessCount, forKey: .accessCount)
        try MemoryWireTime.encode(expiresAt, .expiresAt, into: &container)
        try container.encode(contentHash, forKey: .contentHash)
    }
}

/// Body of `POST /v1/memories`.
public struct MemoryCreateRequest: Codable, Sendable, Equatable {
    /// The scope to store into.
    public var namespace: String
    /// What it is about; `core_fact` when absent.
    public var kind: MemoryKind
    /// The text to remember (1 byte to 64 KiB).
    public var content: String
    /// Labels.
    public var tags: [String]?
    /// Key/value pairs.
    public var metadata: [String: String]?
    /// How much it matters; `medium` when absent.
    public var importance: MemoryImportance?
    /// When to delete it regardless of importance.
    public var expiresAt: Date?

    /// Creates a request.
    public init(
        namespace: String,
        kind: MemoryKind = .coreFact,
        content: String,
        tags: [String]? = nil,
        metadata: [String: String]? = nil,
        importance: MemoryImportance? = nil,
        expiresAt: Date? = nil
    ) {
        self.namespace = namespace
        self.kind = kind
        self.content = content
        self.tags = tags
        self.metadata = metadata
        self.importance = importance
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case namespace, kind, content, tags, metadata, importance
        case expiresAt = "expires_at"
    }

    /// Decodes a request; a missing `kind` means `core_fact`.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.namespace = try container.decode(String.self, forKey: .namespace)
        self.kind = try container.decodeIfPresent(MemoryKind.self, forKey: .kind) ?? .coreFact
        self.content = try container.decode(String.self, forKey: .content)
        self.tags = try container.decodeIfPresent([String].self, forKey: .tags)
        self.metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata)
        self.importance = try container.decodeIfPresent(MemoryImportance.self, forKey: .importance)
        self.expiresAt = try MemoryWireTime.decode(.expiresAt, from: container)
    }

    /// Encodes a request; dates are seconds since 1970.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(namespace, forKey: .namespace)
        try container.encode(kind, forKey: .kind)
        try container.encode(content, forKey: .content)
        try container.encodeIfPresent(tags, forKey: .tags)
        try container.encodeIfPresent(metadata, forKey: .metadata)
        try container.encodeIfPresent(importance, forKey: .importance)
        try MemoryWireTime.encode(expiresAt, .expiresAt, into: &container)
    }
}

/// What `POST /v1/memories` did with the content.
public enum MemoryWriteOutcome: String, Codable, Sendable, Hashable {
    /// A new memory was stored (HTTP 201).
    case created
    /// The same normalized content was already stored; its access count rose (HTTP 200).
    case deduplicated
    /// A near-duplicate (cosine ≥ 0.95) was updated with the new content (HTTP 200).
    case merged
}

/// Answer of `POST /v1/memories`.
public struct MemoryCreateResponse: Codable, Sendable, Equatable {
    /// The stored (or existing, or merged) memory.
    public var memory: MemoryRecord
    /// What happened.
    public var outcome: MemoryWriteOutcome

    /// Creates an answer.
    public init(memory: MemoryRecord, outcome: MemoryWriteOutcome) {
        self.memory = memory
        self.outcome = outcome
    }
}

/// Body of `PATCH /v1/memories/{id}`: only the present fields change.
public struct MemoryUpdateRequest: Codable, Sendable, Equatable {
    /// New text.
    public var content: String?
    /// New kind.
    public var kind: MemoryKind?
    /// New labels (replacing the old ones).
    public var tags: [String]?
    /// New key/value pairs (replacing the old ones).
    public var metadata: [String: String]?
    /// New importance.
    public var importance: MemoryImportance?
    /// New expiry time.
    public var expiresAt: Date?

    /// Creates a patch.
    public init(
        content: String? = nil,
        kind: MemoryKind? = nil,
        tags: [String]? = nil,
        metadata: [String: String]? = nil,
        importance: MemoryImportance? = nil,
        expiresAt: Date? = nil
    ) {
        self.content = content
        self.kind = kind
        self.tags = tags
        self.metadata = metadata
        self.importance = importance
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case content, kind, tags, metadata, importance
        case expiresAt = "expires_at"
    }

    /// Decodes a patch; dates are seconds since 1970.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.content = try container.decodeIfPresent(String.self, forKey: .content)
        self.kind = try container.decodeIfPresent(MemoryKind.self, forKey: .kind)
        self.tags = try container.decodeIfPresent([String].self, forKey: .tags)
        self.metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata)
        self.importance = try container.decodeIfPresent(MemoryImportance.self, forKey: .importance)
        self.expiresAt = try MemoryWireTime.decode(.expiresAt, from: container)
    }

    /// Encodes a patch; dates are seconds since 1970.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(content, forKey: .content)
        try container.encodeIfPresent(kind, forKey: .kind)
        try container.encodeIfPresent(tags, forKey: .tags)
        try container.encodeIfPresent(metadata, forKey: .metadata)
        try container.encodeIfPresent(importance, forKey: .importance)
        try MemoryWireTime.encode(expiresAt, .expiresAt, into: &container)
    }
}

/// Body of `POST /v1/memories/search`.
public struct MemorySearchRequest: Codable, Sendable, Equatable {
    /// The scope to search.
    public var namespace: String
    /// The question or keywords.
    public var query: String
    /// How many hits at most (default 5, at most 100).
    public var limit: Int?
    /// Only these kinds, when given.
    public var kinds: [MemoryKind]?
    /// Only memories carrying all of these tags, when given.
    public var tags: [String]?
    /// Only memories created at or after this time.
    public var since: Date?
    /// Only memories created at or before this time.
    public var until: Date?
    /// Only hits scoring at least this much.
    public var minScore: Double?

    /// Creates a search request.
    public init(
        namespace: String,
        query: String,
        limit: Int? = nil,
        kinds: [MemoryKind]? = nil,
        tags: [String]? = nil,
        since: Date? = nil,
        until: Date? = nil,
        minScore: Double? = nil
    ) {
        self.namespace = namespace
        self.query = query
        self.limit = limit
        self.kinds = kinds
        self.tags = tags
        self.since = since
        self.until = until
        self.minScore = minScore
    }

    enum CodingKeys: String, CodingKey {
        case namespace, query, limit, kinds, tags, since, until
        case minScore = "min_score"
    }

    /// Decodes a search request; dates are seconds since 1970.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.namespace = try container.decode(String.self, forKey: .namespace)
        self.query = try container.decode(String.self, forKey: .query)
        self.limit = try container.decodeIfPresent(Int.self, forKey: .limit)
        self.kinds = try container.decodeIfPresent([MemoryKind].self, forKey: .kinds)
        self.tags = try container.decodeIfPresent([String].self, forKey: .tags)
        self.since = try MemoryWireTime.decode(.since, from: container)
        self.until = try MemoryWireTime.decode(.until, from: container)
        self.minScore = try container.decodeIfPresent(Double.self, forKey: .minScore)
    }

    /// Encodes a search request; dates are seconds since 1970.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(namespace, forKey: .namespace)
        try container.encode(query, forKey: .query)
        try container.encodeIfPresent(limit, forKey: .limit)
        try container.encodeIfPresent(kinds, forKey: .kinds)
        try container.encodeIfPresent(tags, forKey: .tags)
        try MemoryWireTime.encode(since, .since, into: &container)
        try MemoryWireTime.encode(until, .until, into: &container)
        try container.encodeIfPresent(minScore, forKey: .minScore)
    }
}

/// One search result and why it ranked.
public struct MemorySearchHit: Codable, Sendable, Equatable {
    /// The memory.
    public var memory: MemoryRecord
    /// The final score: fused rank score weighted by importance and recency.
    public var score: Double
    /// Its 1-based rank in the full-text (BM25) list, when it was in it.
    public var bm25Rank: Int?
    /// Its 1-based rank in the vector list, when it was in it.
    public var vectorRank: Int?
    /// Its cosine similarity to the query, when it was in the vector list.
    public var vectorSimilarity: Double?

    /// Creates a hit.
    public init(
        memory: MemoryRecord, score: Double, bm25Rank: Int? = nil, vectorRank: Int? = nil,
        vectorSimilarity: Double? = nil
    ) {
        self.memory = memory
        self.score = score
        self.bm25Rank = bm25Rank
        self.vectorRank = vectorRank
        self.vectorSimilarity = vectorSimilarity
    }

    enum CodingKeys: String, CodingKey {
        case memory, score
        case bm25Rank = "bm25_rank"
        case vectorRank = "vector_rank"
        case vectorSimilarity = "vector_similarity"
    }
}

/// Answer of `POST /v1/memories/search`.
public struct MemorySearchResponse: Codable, Sendable, Equatable {
    /// The hits, best first.
    public var hits: [MemorySearchHit]
    /// The embedder that made the vectors (`hashed-ngram` or `model2vec:<name>`).
    public var embedder: String

    /// Creates an answer.
    public init(hits: [MemorySearchHit], embedder: String) {
        self.hits = hits
        self.embedder = embedder
    }
}

/// Answer of `GET /v1/memories/stats`.
public struct MemoryStatsResponse: Codable, Sendable, Equatable {
    /// Memories counted.
    public var total: Int
    /// Memories per namespace.
    public var namespaces: [String: Int]
    /// Memories per kind (raw value).
    public var kinds: [String: Int]
    /// Memories per importance (raw value).
    public var importances: [String: Int]
    /// Size of the database file and its WAL in bytes.
    public var databaseBytes: Int64
    /// The embedder in use.
    public var embedder: String

    /// Creates an answer.
    public init(
        total: Int, namespaces: [String: Int], kinds: [String: Int], importances: [String: Int], databaseBytes: Int64,
        embedder: String
    ) {
        self.total = total
        self.namespaces = namespaces
        self.kinds = kinds
        self.importances = importances
        self.databaseBytes = databaseBytes
        self.embedder = embedder
    }

    enum CodingKeys: String, CodingKey {
        case total, namespaces, kinds, importances, embedder
        case databaseBytes = "database_bytes"
    }
}

/// Answer of `POST /v1/memories/import`.
public struct MemoryImportResponse: Codable, Sendable, Equatable {
    /// Records stored.
    public var imported: Int
    /// Records skipped (their id or content was already there).
    public var skipped: Int

    /// Creates an answer.
    public init(imported: Int, skipped: Int) {
        self.imported = imported
        self.skipped = skipped
    }
}

/// Body of `POST /v1/memories/turns`: one user/assistant exchange.
public struct MemoryTurnRequest: Codable, Sendable, Equatable {
    /// The scope to store into.
    public var namespace: String
    /// What the user said.
    public var user: String
    /// What the assistant answered.
    public var assistant: String

    /// Creates a turn.
    public init(namespace: String, user: String, assistant: String) {
        self.namespace = namespace
        self.user = user
        self.assistant = assistant
    }
}

/// Answer of `POST /v1/memories/turns`.
public struct MemoryTurnResponse: Codable, Sendable, Equatable {
    /// The stored `conversation` memory.
    public var turn: MemoryRecord
    /// The `core_fact` memories extracted from the user's words.
    public var facts: [MemoryRecord]

    /// Creates an answer.
    public init(turn: MemoryRecord, facts: [MemoryRecord]) {
        self.turn = turn
        self.facts = facts
    }
}

/// Answer of `POST /v1/memories/rotate-key`.
public struct MemoryRotateKeyResponse: Codable, Sendable, Equatable {
    /// Memories re-encrypted under the new key.
    public var reencrypted: Int

    /// Creates an answer.
    public init(reencrypted: Int) {
        self.reencrypted = reencrypted
    }
}

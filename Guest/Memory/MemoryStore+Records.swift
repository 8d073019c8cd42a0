public import AgentAPI
import FoundationEssentials
import SQLite

extension MemoryStore {
    static let recordColumns =
        "rowid, id, namespace, kind, importance, sealed, content_hash, created_at, updated_at, last_accessed_at, "
        + "access_count, expires_at"

    /// A decoded row: the record and its rowid.
    struct StoredMemory {
        var rowID: Int64
        var record: MemoryRecord
    }

    // MARK: Validation

    static func validateNamespace(_ namespace: String) throws(MemoryError) {
        guard MemoryRecord.isValidNamespace(namespace) else {
            throw MemoryError.invalidInput(
                "namespace \"\(namespace.prefix(80))\" is invalid: use 1-64 characters of A-Z a-z 0-9 . _ : -")
        }
    }

    static func validateContent(_ content: String) throws(MemoryError) {
        guard !content.allSatisfy(\.isWhitespace) else {
            throw MemoryError.invalidInput("content is empty")
        }
        let size = content.utf8.count
        guard size <= maxContentBytes else {
            throw MemoryError.tooLarge("content is \(size) bytes; the limit is \(maxContentBytes) bytes")
        }
    }

    static func validateTags(_ tags: [String]) throws(MemoryError) {
        guard tags.count <= 64 else {
            throw MemoryError.invalidInput("\(tags.count) tags given; at most 64 are allowed")
        }
        for tag in tags where tag.allSatisfy(\.isWhitespace) || tag.utf8.count > 256 {
            throw MemoryError.invalidInput("tag \"\(tag.prefix(40))\" must be 1-256 bytes and not blank")
        }
    }

    static func validateMetadata(_ metadata: [String: String]) throws(MemoryError) {
        let size = metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count }
        guard size <= maxContentBytes else {
            throw MemoryError.tooLarge("metadata is \(size) bytes; the limit is \(maxContentBytes) bytes")
        }
    }

    // MARK: Rows

    func decode(_ row: SQLiteRow) throws(MemoryError) -> StoredMemory {
        let payload = try MemoryPayload.open(row[5].blobValue ?? [], cipher: cipher)
        let record = MemoryRecord(
            id: row[1].stringValue ?? "",
            namespace: row[2].stringValue ?? "",
            kind: MemoryKind(rawValue: row[3].stringValue ?? "") ?? .coreFact,
            content: payload.content,
            tags: payload.tags,
            metadata: payload.metadata,
            importance: MemoryImportance(rawValue: row[4].stringValue ?? "") ?? .medium,
            createdAt: Date(timeIntervalSince1970: row[7].doubleValue ?? 0),
            updatedAt: Date(timeIntervalSince1970: row[8].doubleValue ?? 0),
            lastAccessedAt: row[9].doubleValue.map { Date(timeIntervalSince1970: $0) },
            accessCount: row[10].intValue ?? 0,
            expiresAt: row[11].doubleValue.map { Date(timeIntervalSince1970: $0) },
            contentHash: row[6].stringValue ?? "")
        return StoredMemory(rowID: row[0].int64Value ?? 0, record: record)
    }

    func fetch(id: String, namespace: String) throws(MemoryError) -> StoredMemory? {
        let rows = try sql {
            try database.query(
                "SELECT \(Self.recordColumns) FROM memories WHERE id = ? AND namespace = ?",
                [.text(id), .text(namespace)])
        }
        return try rows.first.map { row throws(MemoryError) in try decode(row) }
    }

    func fetch(rowIDs: [Int64]) throws(MemoryError) -> [Int64: StoredMemory] {
        guard !rowIDs.isEmpty else {
            return [:]
        }
        let placeholders = Array(repeating: "?", count: rowIDs.count).joined(separator: ",")
        let rows = try sql {
            try database.query(
                "SELECT \(Self.recordColumns) FROM memories WHERE rowid IN (\(placeholders))",
                rowIDs.map { .integer($0) })
        }
        var found: [Int64: StoredMemory] = [:]
        for row in rows {
            let stored = try decode(row)
            found[stored.rowID] = stored
        }
        return found
    }

    func tagTokens(_ tags: [String]) -> String {
        Set(tags.map { cipher.token("tag:" + MemoryText.normalize($0)) }).sorted().joined(separator: " ")
    }

    /// A term token (`t` + 16 hex digits) as the number the in-memory BM25 index uses.
    static func termKey<Text: StringProtocol>(_ token: Text) -> UInt64 {
        UInt64(token.dropFirst(), radix: 16) ?? 0
    }

    /// The in-memory index keys of a content's terms, in order and with repeats.
    func termKeys(_ content: String) -> [UInt64] {
        MemoryText.terms(content).map { Self.termKey(cipher.token($0)) }
    }

    func termTokens(_ content: String) -> String {
        MemoryText.terms(content).map { cipher.token($0) }.joined(separator: " ")
    }

    /// Inserts or replaces a record's row, its full-text row and its vector; returns the rowid.
    @discardableResult
    func write(_ record: MemoryRecord, replacing rowID: Int64?, vector: [Float]) throws(MemoryError) -> Int64 {
        let payload = MemoryPayload(content: record.content, tags: record.tags, metadata: record.metadata)
        let sealed = try payload.seal(cipher: cipher)
        let tagTokens = tagTokens(record.tags)
        let embedding = try sealVector(vector)
        let values: [SQLiteValue] = [
            .text(record.id), .text(record.namespace), .text(record.kind.rawValue),
            .text(record.importance.rawValue), .blob(sealed), .text(tagTokens), .text(record.contentHash),
            .real(record.createdAt.timeIntervalSince1970), .real(record.updatedAt.timeIntervalSince1970),
            record.lastAccessedAt.map { .real($0.timeIntervalSince1970) } ?? .null, .int(record.accessCount),
            record.expiresAt.map { .real($0.timeIntervalSince1970) } ?? .null, .blob(embedding),
        ]
        let terms = termTokens(record.content)
        let newRowID: Int64 = try sql {
            if let rowID {
                try database.query(
                    """
                    UPDATE memories SET id = ?, namespace = ?, kind = ?, importance = ?, sealed = ?, tag_tokens = ?,
                    content_hash = ?, created_at = ?, updated_at = ?, last_accessed_at = ?, access_count = ?,
                    expires_at = ?, embedding = ? WHERE rowid = ?
                    """, values + [.integer(rowID)])
                try database.query("DELETE FROM memory_fts WHERE rowid = ?", [.integer(rowID)])
                try database.query(
                    "INSERT INTO memory_fts(rowid, terms) VALUES (?, ?)", [.integer(rowID), .text(terms)])
                return rowID
            }
            try database.query(
                """
                INSERT INTO memories(id, namespace, kind, importance, sealed, tag_tokens, content_hash, created_at,
                updated_at, last_accessed_at, access_count, expires_at, embedding)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, values)
            let inserted = database.lastInsertRowID
            try database.query(
                "INSERT INTO memory_fts(rowid, terms) VALUES (?, ?)", [.integer(inserted), .text(terms)])
            return inserted
        }
        return newRowID
    }

    func indexEntry(_ record: MemoryRecord) -> MemoryVectorIndex.Entry {
        MemoryVectorIndex.Entry(
            kind: record.kind, createdAt: record.createdAt.timeIntervalSince1970,
            tagTokens: Self.tagTokenSet(tagTokens(record.tags)))
    }

    func recordHistory(
        _ action: String, id: String, namespace: String, old: MemoryRecord?, new: MemoryRecord?, at now: Date
    ) throws(MemoryError) {
        func sealRecord(_ record: MemoryRecord?) throws(MemoryError) -> SQLiteValue {
            guard let record else {
                return .null
            }
            do {
                return .blob(try cipher.seal(Array(try JSONEncoder().encode(record))))
            } catch let error as MemoryError {
                throw error
            } catch {
                throw MemoryError.storage("cannot encode a history record: \(error)")
            }
        }
        let oldValue = try sealRecord(old)
        let newValue = try sealRecord(new)
        let kind = (new ?? old).map { SQLiteValue.text($0.kind.rawValue) } ?? .null
        let rows = try sql {
            try database.query(
                "INSERT INTO memory_history(memory_id, namespace, action, at, old_sealed, new_sealed, kind) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                [
                    .text(id), .text(namespace), .text(action), .real(now.timeIntervalSince1970), oldValue, newValue,
                    kind,
                ])
        }
        let seq = rows.first?[0].int64Value ?? 0
        try pruneHistory(checkBytes: seq % 64 == 0)
    }

    /// Deletes the oldest history rows beyond ``historyRowCap`` and, when `checkBytes`, beyond
    /// ``maxHistoryBytes`` of sealed records.
    func pruneHistory(checkBytes: Bool) throws(MemoryError) {
        try sql {
            try database.query(
                "DELETE FROM memory_history WHERE seq <= (SELECT max(seq) FROM memory_history) - ?",
                [.integer(Int64(historyRowCap))])
        }
        guard checkBytes else { return }
        let total =
            try sql {
                try database.query(
                    "SELECT coalesce(sum(coalesce(length(old_sealed), 0) + coalesce(length(new_sealed), 0)), 0) "
                        + "FROM memory_history")
            }.first?[0].int64Value ?? 0
        guard total > Int64(Self.maxHistoryBytes) else { return }
        // Walk from the oldest row until enough bytes are gone, then delete up to there.
        let rows = try sql {
            try database.query(
                "SELECT seq, coalesce(length(old_sealed), 0) + coalesce(length(new_sealed), 0) FROM memory_history "
                    + "ORDER BY seq")
        }
        var excess = total - Int64(Self.maxHistoryBytes)
        var last: Int64 = 0
        for row in rows where excess > 0 {
            last = row[0].int64Value ?? last
            excess -= row[1].int64Value ?? 0
        }
        try sql { try database.query("DELETE FROM memory_history WHERE seq <= ?", [.integer(last)]) }
    }

    /// Removes a memory's row and its search terms, purges its records from history, and records the deletion
    /// (id, namespace, action, time and kind; never the content).
    func deleteRow(_ stored: StoredMemory, action: String, at now: Date) throws(MemoryError) {
        try sql {
            try database.query("DELETE FROM memories WHERE rowid = ?", [.integer(stored.rowID)])
            try database.query("DELETE FROM memory_fts WHERE rowid = ?", [.integer(stored.rowID)])
            try database.query(
                "UPDATE memory_history SET old_sealed = NULL, new_sealed = NULL WHERE memory_id = ?",
                [.text(stored.record.id)])
            try database.query(
                "INSERT INTO memory_history(memory_id, namespace, action, at, old_sealed, new_sealed, kind) "
                    + "VALUES (?, ?, ?, ?, NULL, NULL, ?)",
                [
                    .text(stored.record.id), .text(stored.record.namespace), .text(action),
                    .real(now.timeIntervalSince1970), .text(stored.record.kind.rawValue),
                ])
        }
        try pruneHistory(checkBytes: false)
    }

    // MARK: Public API

    /// Stores a memory, or finds that it is already there.
    ///
    /// Identical normalized content of the same kind in the namespace raises the existing memory's access count
    /// (`deduplicated`); a near-duplicate (cosine ≥ 0.95) is updated with the new content, tags added and
    /// metadata merged (`merged`, recorded in history); otherwise a new memory is stored (`created`).
    /// - Parameter request: The memory to store.
    /// - Returns: The memory and what happened.
    /// - Throws: ``MemoryError`` `.invalidInput` (namespace, empty content, tags), `.tooLarge`, `.storage`.
    public func add(_ request: MemoryCreateRequest) throws(MemoryError) -> MemoryCreateResponse {
        try Self.validateNamespace(request.namespace)
        try Self.validateContent(request.content)
        try Self.validateTags(request.tags ?? [])
        try Self.validateMetadata(request.metadata ?? [:])
        let now = Date()
        let vector = embedder.embed(request.content)
        return try locked { () throws(MemoryError) -> MemoryCreateResponse in
            try addLocked(request, vector: vector, now: now)
        }
    }

    func addLocked(_ request: MemoryCreateRequest, vector: [Float], now: Date) throws(MemoryError)
        -> MemoryCreateResponse
    {
        let hash = cipher.contentHash(MemoryText.normalize(request.content))
        var indexUpdate: (Int64, MemoryRecord)?
        let response = try transaction { () throws(MemoryError) -> MemoryCreateResponse in
            let duplicates = try sql {
                try database.query(
                    "SELECT \(Self.recordColumns) FROM memories WHERE namespace = ? AND content_hash = ? AND kind = ?",
                    [.text(request.namespace), .text(hash), .text(request.kind.rawValue)])
            }
            if let row = duplicates.first {
                var stored = try decode(row)
                stored.record.accessCount += 1
                stored.record.lastAccessedAt = now
                try sql {
                    try database.query(
                        "UPDATE memories SET access_count = ?, last_accessed_at = ? WHERE rowid = ?",
                        [.int(stored.record.accessCount), .real(now.timeIntervalSince1970), .integer(stored.rowID)])
                }
                return MemoryCreateResponse(memory: stored.record, outcome: .deduplicated)
            }
            if let stored = try nearDuplicate(of: vector, namespace: request.namespace, kind: request.kind) {
                var merged = stored.record
                merged.content = request.content
                merged.contentHash = hash
                for tag in request.tags ?? [] where !merged.tags.contains(tag) {
                    merged.tags.append(tag)
                }
                merged.metadata.merge(request.metadata ?? [:]) { _, new in new }
                let importance = request.importance ?? .medium
                if Self.importanceRank(importance) < Self.importanceRank(merged.importance) {
                    merged.importance = importance
                }
                if let expiresAt = request.expiresAt {
                    merged.expiresAt = expiresAt
                }
                merged.updatedAt = now
                merged.accessCount += 1
                merged.lastAccessedAt = now
                try write(merged, replacing: stored.rowID, vector: vector)
                try recordHistory(
                    "merge", id: merged.id, namespace: merged.namespace, old: stored.record, new: merged, at: now)
                indexUpdate = (stored.rowID, merged)
                return MemoryCreateResponse(memory: merged, outcome: .merged)
            }
            let record = MemoryRecord(
                id: UUID().uuidString.lowercased(),
                namespace: request.namespace,
                kind: request.kind,
                content: request.content,
                tags: request.tags ?? [],
                metadata: request.metadata ?? [:],
                importance: request.importance ?? .medium,
                createdAt: now,
                updatedAt: now,
                lastAccessedAt: nil,
                accessCount: 0,
                expiresAt: request.expiresAt,
                contentHash: hash)
            let rowID = try write(record, replacing: nil, vector: vector)
            try recordHistory("add", id: record.id, namespace: record.namespace, old: nil, new: record, at: now)
            indexUpdate = (rowID, record)
            return MemoryCreateResponse(memory: record, outcome: .created)
        }
        if let (rowID, record) = indexUpdate {
            index.upsert(
                rowID: rowID, namespace: record.namespace, entry: indexEntry(record), vector: vector,
                terms: termKeys(record.content))
        }
        return response
    }

    /// The cosine at or above which a new memory is merged into an existing one.
    static let nearDuplicateCosine: Float = 0.95

    /// The memory of `kind` whose vector has a cosine ≥ ``nearDuplicateCosine`` with `vector`, if any: the
    /// cosine with its int8 codes, which are exactly what is stored.
    func nearDuplicate(of vector: [Float], namespace: String, kind: MemoryKind) throws(MemoryError)
        -> StoredMemory?
    {
        guard let best = index.nearest(to: vector, namespace: namespace, limit: 1, filter: { $0.kind == kind }).first,
            best.similarity >= Self.nearDuplicateCosine
        else {
            return nil
        }
        return try fetch(rowIDs: [best.rowID])[best.rowID]
    }

    /// 0 for critical … 4 for temporary.
    static func importanceRank(_ importance: MemoryImportance) -> Int {
        MemoryImportance.allCases.firstIndex(of: importance) ?? 2
    }

    /// Reads one memory.
    /// - Parameters:
    ///   - id: The memory's id.
    ///   - namespace: Its namespace.
    /// - Returns: The memory.
    /// - Throws: ``MemoryError`` `.invalidInput` (namespace), `.notFound`, `.storage`.
    public func get(id: String, namespace: String) throws(MemoryError) -> MemoryRecord {
        try Self.validateNamespace(namespace)
        return try locked { () throws(MemoryError) -> MemoryRecord in
            guard let stored = try fetch(id: id, namespace: namespace) else {
                throw MemoryError.notFound("no memory \(id) in namespace \(namespace)")
            }
            return stored.record
        }
    }

    /// Changes the fields present in `patch`; the change is recorded in history.
    /// - Parameters:
    ///   - id: The memory's id.
    ///   - namespace: Its namespace.
    ///   - patch: The new values.
    /// - Returns: The updated memory.
    /// - Throws: ``MemoryError`` `.invalidInput`, `.tooLarge`, `.notFound`, `.storage`.
    public func update(id: String, namespace: String, _ patch: MemoryUpdateRequest) throws(MemoryError)
        -> MemoryRecord
    {
        try Self.validateNamespace(namespace)
        if let content = patch.content {
            try Self.validateContent(content)
        }
        try Self.validateTags(patch.tags ?? [])
        try Self.validateMetadata(patch.metadata ?? [:])
        let now = Date()
        return try locked { () throws(MemoryError) -> MemoryRecord in
            guard let stored = try fetch(id: id, namespace: namespace) else {
                throw MemoryError.notFound("no memory \(id) in namespace \(namespace)")
            }
            var record = stored.record
            if let content = patch.content {
                record.content = content
                record.contentHash = cipher.contentHash(MemoryText.normalize(content))
            }
            record.kind = patch.kind ?? record.kind
            record.tags = patch.tags ?? record.tags
            record.metadata = patch.metadata ?? record.metadata
            record.importance = patch.importance ?? record.importance
            record.expiresAt = patch.expiresAt ?? record.expiresAt
            record.updatedAt = now
            let vector = embedder.embed(record.content)
            try transaction { () throws(MemoryError) in
                try write(record, replacing: stored.rowID, vector: vector)
                try recordHistory("update", id: id, namespace: namespace, old: stored.record, new: record, at: now)
            }
            index.upsert(
                rowID: stored.rowID, namespace: namespace, entry: indexEntry(record), vector: vector,
                terms: termKeys(record.content))
            return record
        }
    }

    /// Deletes one memory; history keeps the fact of the deletion (id, namespace, time, kind) and loses every
    /// record of the memory's content.
    /// - Parameters:
    ///   - id: The memory's id.
    ///   - namespace: Its namespace.
    /// - Throws: ``MemoryError`` `.invalidInput` (namespace), `.notFound`, `.storage`.
    public func delete(id: String, namespace: String) throws(MemoryError) {
        try Self.validateNamespace(namespace)
        let now = Date()
        try locked { () throws(MemoryError) in
            guard let stored = try fetch(id: id, namespace: namespace) else {
                throw MemoryError.notFound("no memory \(id) in namespace \(namespace)")
            }
            try transaction { () throws(MemoryError) in
                try deleteRow(stored, action: "delete", at: now)
            }
            index.remove(rowID: stored.rowID, namespace: namespace)
        }
    }

    /// Every memory, oldest first, optionally of one namespace.
    /// - Parameter namespace: Only this namespace, when given.
    /// - Returns: The decrypted records.
    /// - Throws: ``MemoryError`` `.invalidInput` (namespace), `.storage`.
    public func export(namespace: String?) throws(MemoryError) -> [MemoryRecord] {
        if let namespace {
            try Self.validateNamespace(namespace)
        }
        return try locked { () throws(MemoryError) -> [MemoryRecord] in
            let rows = try sql {
                if let namespace {
                    return try database.query(
                        "SELECT \(Self.recordColumns) FROM memories WHERE namespace = ? ORDER BY created_at, rowid",
                        [.text(namespace)])
                }
                return try database.query("SELECT \(Self.recordColumns) FROM memories ORDER BY created_at, rowid")
            }
            var records: [MemoryRecord] = []
            records.reserveCapacity(rows.count)
            for row in rows {
                records.append(try decode(row).record)
            }
            return records
        }
    }

    /// Stores exported records with their ids and times; a record whose id, or whose content in its namespace
    /// and kind, is already there is skipped. All or nothing: one bad record fails the whole import.
    /// - Parameter records: Records as ``export(namespace:)`` returns them.
    /// - Returns: How many were stored and skipped.
    /// - Throws: ``MemoryError`` `.invalidInput` or `.tooLarge` naming the bad record, `.storage`.
    public func importRecords(_ records: [MemoryRecord]) throws(MemoryError) -> MemoryImportResponse {
        for (position, record) in records.enumerated() {
            do throws(MemoryError) {
                try Self.validateNamespace(record.namespace)
                try Self.validateContent(record.content)
                try Self.validateTags(record.tags)
                try Self.validateMetadata(record.metadata)
                guard !record.id.isEmpty, record.id.utf8.count <= 128 else {
                    throw MemoryError.invalidInput("id must be 1-128 bytes")
                }
            } catch {
                throw MemoryError(code: error.code, message: "record \(position + 1): \(error.message)")
            }
        }
        let vectors = records.map { embedder.embed($0.content) }
        return try locked { () throws(MemoryError) -> MemoryImportResponse in
            var added: [(Int64, MemoryRecord, [Float])] = []
            var skipped = 0
            let now = Date()
            try transaction { () throws(MemoryError) in
                for (record, vector) in zip(records, vectors) {
                    var record = record
                    record.contentHash = cipher.contentHash(MemoryText.normalize(record.content))
                    let existing = try sql {
                        try database.query(
                            "SELECT 1 FROM memories WHERE id = ? UNION ALL SELECT 1 FROM memories "
                                + "WHERE namespace = ? AND content_hash = ? AND kind = ?",
                            [
                                .text(record.id), .text(record.namespace), .text(record.contentHash),
                                .text(record.kind.rawValue),
                            ])
                    }
                    guard existing.isEmpty else {
                        skipped += 1
                        continue
                    }
                    let rowID = try write(record, replacing: nil, vector: vector)
                    try recordHistory(
                        "import", id: record.id, namespace: record.namespace, old: nil, new: record, at: now)
                    added.append((rowID, record, vector))
                }
            }
            for (rowID, record, vector) in added {
                index.upsert(
                    rowID: rowID, namespace: record.namespace, entry: indexEntry(record), vector: vector,
                    terms: termKeys(record.content))
            }
            return MemoryImportResponse(imported: added.count, skipped: skipped)
        }
    }

    /// Counts by namespace, kind and importance, and the size of the database files.
    /// - Parameter namespace: Only this namespace, when given.
    /// - Returns: The counts.
    /// - Throws: ``MemoryError`` `.invalidInput` (namespace), `.storage`.
    public func stats(namespace: String?) throws(MemoryError) -> MemoryStatsResponse {
        if let namespace {
            try Self.validateNamespace(namespace)
        }
        return try locked { () throws(MemoryError) -> MemoryStatsResponse in
            func counts(_ column: String) throws(MemoryError) -> [String: Int] {
                let rows = try sql {
                    if let namespace {
                        return try database.query(
                            "SELECT \(column), count(*) FROM memories WHERE namespace = ? GROUP BY \(column)",
                            [.text(namespace)])
                    }
                    return try database.query("SELECT \(column), count(*) FROM memories GROUP BY \(column)")
                }
                var result: [String: Int] = [:]
                for row in rows {
                    result[row[0].stringValue ?? ""] = row[1].intValue ?? 0
                }
                return result
            }
            let namespaces = try counts("namespace")
            var bytes: Int64 = 0
            for suffix in ["", "-wal"] {
                bytes += Self.fileSize(databasePath + suffix)
            }
            return MemoryStatsResponse(
                total: namespaces.values.reduce(0, +),
                namespaces: namespaces,
                kinds: try counts("kind"),
                importances: try counts("importance"),
                databaseBytes: bytes,
                embedder: embedder.name)
        }
    }
}

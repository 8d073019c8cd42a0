import AgentAPI
import Logging
import SQLite
import Synchronization

/// Re-embedding after a change of embedder, a batch at a time, while the store keeps serving.
///
/// At open, a store whose vectors come from another embedder records the new signature as `reembed_target` and a
/// rowid cursor `reembed_cursor` (0) in `memory_meta`. Memories above the cursor keep no vector in the index until
/// they are re-embedded (BM25 still finds them); new and updated memories are embedded with the current embedder
/// at once. Each ``reembedNextBatch(size:)`` embeds the next memories outside the lock, then stores their vectors
/// and moves the cursor in one transaction: a crash loses at most the batch in flight, and the next open resumes
/// from the cursor. When no memory is left, `embedder` takes the new signature and the cursor is removed.
extension MemoryStore {
    /// Whether memories are still waiting to be re-embedded with the current embedder.
    public var isReembedding: Bool {
        lock.withLock { _ in reembedCursor != nil }
    }

    /// Re-embeds the next `size` memories (by rowid) waiting for the current embedder.
    /// - Parameter size: Memories per batch (1 or more); the store's lock is held only to read and to write them.
    /// - Returns: How many memories this batch re-embedded (0 once nothing is left).
    /// - Throws: ``MemoryError`` `.storage`.
    @discardableResult
    public func reembedNextBatch(size: Int = 16) throws(MemoryError) -> Int {
        let pending = try locked { () throws(MemoryError) -> (cursor: Int64, rows: [(Int64, String)])? in
            guard let cursor = reembedCursor else { return nil }
            let rowIDs = try sql {
                try database.query(
                    "SELECT rowid FROM memories WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    [.integer(cursor), .integer(Int64(max(1, size)))]
                ).compactMap { $0[0].int64Value }
            }
            let stored = try fetch(rowIDs: rowIDs)
            return (cursor, rowIDs.compactMap { rowID in stored[rowID].map { (rowID, $0.record.content) } })
        }
        guard let pending else { return 0 }
        let vectors = pending.rows.map { embedder.embed($0.1) }
        return try locked { () throws(MemoryError) -> Int in
            // Another caller may have moved the cursor meanwhile; its batch then already holds these rows.
            guard reembedCursor == pending.cursor else { return 0 }
            let current = try fetch(rowIDs: pending.rows.map(\.0))
            var done = 0
            try transaction { () throws(MemoryError) in
                for ((rowID, content), vector) in zip(pending.rows, vectors) {
                    // A memory updated meanwhile was embedded with the current embedder then.
                    guard let record = current[rowID]?.record, record.content == content else { continue }
                    try sql {
                        try database.query(
                            "UPDATE memories SET embedding = ? WHERE rowid = ?",
                            [.blob(try sealVector(vector)), .integer(rowID)])
                    }
                    index.upsert(
                        rowID: rowID, namespace: record.namespace, entry: indexEntry(record), vector: vector,
                        terms: termKeys(record.content))
                    done += 1
                }
                if pending.rows.count < max(1, size) {
                    try finishReembedding()
                } else if let last = pending.rows.last?.0 {
                    try setMeta("reembed_cursor", .integer(last))
                }
            }
            if pending.rows.count < max(1, size) {
                reembedCursor = nil
                logger.info("memory re-embedding finished", metadata: ["memory.embedder": "\(embedder.name)"])
            } else {
                reembedCursor = pending.rows.last?.0 ?? pending.cursor
            }
            return done
        }
    }

    /// Where re-embedding stands at open: `nil` when every vector comes from the current embedder, else the rowid
    /// after which memories still wait (a new target starts at 0). An empty store takes the signature at once.
    func prepareReembedding() throws(MemoryError) -> Int64? {
        let signature = embedder.signature
        let rows = try sql {
            try database.query(
                "SELECT name, value FROM memory_meta WHERE name IN ('embedder', 'reembed_target', 'reembed_cursor')")
        }
        var meta: [String: SQLiteValue] = [:]
        for row in rows {
            if let name = row[0].stringValue { meta[name] = row[1] }
        }
        if meta["embedder"]?.stringValue == signature {
            return nil
        }
        let count = try sql { try database.query("SELECT count(*) FROM memories").first?[0].intValue ?? 0 }
        if count == 0 {
            try transaction { () throws(MemoryError) in try finishReembedding() }
            return nil
        }
        if meta["reembed_target"]?.stringValue == signature, let cursor = meta["reembed_cursor"]?.int64Value {
            return cursor
        }
        try transaction { () throws(MemoryError) in
            try setMeta("reembed_target", .text(signature))
            try setMeta("reembed_cursor", .integer(0))
        }
        logger.info(
            "memory re-embedding started",
            metadata: ["memory.embedder": "\(embedder.name)", "memory.count": "\(count)"]
        )
        return 0
    }

    private func finishReembedding() throws(MemoryError) {
        try setMeta("embedder", .text(embedder.signature))
        try sql { try database.query("DELETE FROM memory_meta WHERE name IN ('reembed_target', 'reembed_cursor')") }
    }

    func setMeta(_ name: String, _ value: SQLiteValue) throws(MemoryError) {
        try sql {
            try database.query("INSERT OR REPLACE INTO memory_meta(name, value) VALUES (?, ?)", [.text(name), value])
        }
    }
}

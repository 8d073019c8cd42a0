public import AgentAPI
public import FoundationEssentials
import Logging
import SQLite

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

extension MemoryStore {
    /// Days a memory of this importance is kept after its last access; `nil` for never expiring.
    public static func retentionDays(_ importance: MemoryImportance) -> Int? {
        switch importance {
        case .critical: nil
        case .high: 365
        case .medium: 90
        case .low: 30
        case .temporary: 1
        }
    }

    /// The original's retention score: `0.3·recency + 0.3·access + 0.4·importance`, where
    /// `recency = max(0.1, 1 − age_days/365)` and `access = min(1, access_count/10)`.
    static func retentionScore(_ record: MemoryRecord, now: Date) -> Double {
        let ageDays = max(0, now.timeIntervalSince(record.createdAt) / 86_400)
        let recency = max(0.1, 1 - ageDays / 365)
        let access = min(1, Double(record.accessCount) / 10)
        let importance: Double =
            switch record.importance {
            case .critical: 1.0
            case .high: 0.8
            case .medium: 0.6
            case .low: 0.4
            case .temporary: 0.1
            }
        return 0.3 * recency + 0.3 * access + 0.4 * importance
    }

    /// Deletes expired memories, then evicts from every namespace over its cap.
    ///
    /// Expired: `expires_at` has passed, or the importance's retention days (``retentionDays(_:)``) have passed
    /// since the last access (or the last update when never accessed). Over the cap (``namespaceCap``), the
    /// non-critical memories with the lowest ``retentionScore`` go until the namespace holds at most 95 % of the
    /// cap. Critical memories are never evicted. Every deletion is recorded in history.
    /// - Parameter now: The time to judge ages by.
    /// - Returns: How many memories were removed, by reason.
    /// - Throws: ``MemoryError`` `.storage`.
    public func enforceRetention(now: Date) throws(MemoryError) -> MemoryRetentionReport {
        try locked { () throws(MemoryError) -> MemoryRetentionReport in
            let rows = try sql {
                try database.query(
                    "SELECT rowid, namespace, importance, updated_at, last_accessed_at, expires_at FROM memories")
            }
            let nowSeconds = now.timeIntervalSince1970
            var expired: [Int64] = []
            var counts: [String: Int] = [:]
            for row in rows {
                let namespace = row[1].stringValue ?? ""
                let importance = MemoryImportance(rawValue: row[2].stringValue ?? "") ?? .medium
                let reference = row[4].doubleValue ?? row[3].doubleValue ?? nowSeconds
                var isExpired = false
                if let expiresAt = row[5].doubleValue, expiresAt <= nowSeconds {
                    isExpired = true
                } else if let days = Self.retentionDays(importance), nowSeconds - reference > Double(days) * 86_400 {
                    isExpired = true
                }
                if isExpired {
                    expired.append(row[0].int64Value ?? 0)
                } else {
                    counts[namespace, default: 0] += 1
                }
            }
            var evicted: [Int64] = []
            let target = Int(Double(namespaceCap) * 0.95)
            for (namespace, count) in counts where count > namespaceCap {
                let candidates = try sql {
                    try database.query(
                        "SELECT \(Self.recordColumns) FROM memories WHERE namespace = ? AND importance != 'critical'",
                        [.text(namespace)])
                }
                let expiredSet = Set(expired)
                var scored: [(rowID: Int64, score: Double)] = []
                for row in candidates {
                    let stored = try decode(row)
                    guard !expiredSet.contains(stored.rowID) else {
                        continue
                    }
                    scored.append((stored.rowID, Self.retentionScore(stored.record, now: now)))
                }
                scored.sort { $0.score != $1.score ? $0.score < $1.score : $0.rowID < $1.rowID }
                evicted += scored.prefix(max(0, count - target)).map(\.rowID)
            }
            var removed: [(Int64, String)] = []
            try transaction { () throws(MemoryError) in
                for (rowIDs, action) in [(expired, "expire"), (evicted, "evict")] {
                    for chunk in stride(from: 0, to: rowIDs.count, by: 500) {
                        let slice = Array(rowIDs[chunk..<min(chunk + 500, rowIDs.count)])
                        for (_, stored) in try fetch(rowIDs: slice) {
                            try deleteRow(stored, action: action, at: now)
                            removed.append((stored.rowID, stored.record.namespace))
                        }
                    }
                }
            }
            for (rowID, namespace) in removed {
                index.remove(rowID: rowID, namespace: namespace)
            }
            return MemoryRetentionReport(expired: expired.count, evicted: evicted.count)
        }
    }

    /// Re-encrypts every memory and history entry under a new random key, then installs the key file.
    ///
    /// The new key is written to `memory.key.new` before the database changes and renamed over `memory.key`
    /// after they commit; an interrupted rotation is finished at the next open.
    /// - Returns: How many memories were re-encrypted.
    /// - Throws: ``MemoryError`` `.storage`; on failure the old key stays in force.
    public func rotateKey() throws(MemoryError) -> MemoryRotateKeyResponse {
        try locked { () throws(MemoryError) -> MemoryRotateKeyResponse in
            let oldCipher = cipher
            let newCipher = MemoryCipher(masterKey: MemoryCipher.randomMasterKey())
            let rows = try sql { try database.query("SELECT \(Self.recordColumns), embedding FROM memories") }
            var records: [(StoredMemory, [Float])] = []
            for row in rows {
                records.append((try decode(row), try vectorFromSealed(row[12].blobValue ?? [])))
            }
            let history = try sql { try database.query("SELECT seq, old_sealed, new_sealed FROM memory_history") }
            let pendingPath = keyPath + ".new"
            try MemoryKeyFile.store(newCipher.masterKey, to: pendingPath)
            cipher = newCipher
            do throws(MemoryError) {
                try transaction { () throws(MemoryError) in
                    for (stored, vector) in records {
                        var record = stored.record
                        record.contentHash = newCipher.contentHash(MemoryText.normalize(record.content))
                        try write(record, replacing: stored.rowID, vector: vector)
                    }
                    for row in history {
                        var values: [SQLiteValue] = []
                        for column in [1, 2] {
                            if let sealed = row[column].blobValue {
                                values.append(.blob(try newCipher.seal(try oldCipher.open(sealed))))
                            } else {
                                values.append(.null)
                            }
                        }
                        try sql {
                            try database.query(
                                "UPDATE memory_history SET old_sealed = ?, new_sealed = ? WHERE seq = ?",
                                values + [row[0]])
                        }
                    }
                    let marker = try newCipher.seal(Array(MemorySchema.keyCheckPlaintext.utf8))
                    try sql {
                        try database.query(
                            "UPDATE memory_meta SET value = ? WHERE name = 'key_check'", [.blob(marker)])
                    }
                }
            } catch {
                cipher = oldCipher
                unlink(pendingPath)
                throw error
            }
            guard rename(pendingPath, keyPath) == 0 else {
                throw MemoryError.storage(
                    "re-encrypted, but cannot install \(pendingPath) as \(keyPath): \(String(cString: strerror(errno)))"
                        + "; it is used at the next open")
            }
            index.removeAll()
            for (stored, vector) in records {
                index.upsert(
                    rowID: stored.rowID, namespace: stored.record.namespace, entry: indexEntry(stored.record),
                    vector: vector, terms: termKeys(stored.record.content))
            }
            logger.info("memory key rotated", metadata: ["memory.reencrypted": "\(records.count)"])
            return MemoryRotateKeyResponse(reencrypted: records.count)
        }
    }
}

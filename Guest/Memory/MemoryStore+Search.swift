public import AgentAPI
import Foundation
import SQLite

/// Which ranked lists a search uses; ``MemoryStore/search(_:)`` uses both.
public enum MemorySearchMode: String, Sendable, CaseIterable {
    /// Full-text BM25 and vector similarity fused with Reciprocal Rank Fusion (k = 60).
    case hybrid
    /// Full-text BM25 only.
    case bm25
    /// Vector similarity only.
    case vector
}

extension MemoryStore {
    /// The RRF constant.
    static let rrfK = 60.0
    /// Weight of the vector list in hybrid fusion (the BM25 list weighs 1): exact terms are the stronger
    /// signal, vectors add what they miss (paraphrases).
    static let vectorWeight = 0.7

    /// Weight of each importance in search ranking.
    static func searchWeight(_ importance: MemoryImportance) -> Double {
        switch importance {
        case .critical: 1.0
        case .high: 0.9
        case .medium: 0.8
        case .low: 0.7
        case .temporary: 0.6
        }
    }

    /// Finds the memories that best match a query (hybrid BM25 + vector ranking).
    ///
    /// Each list yields up to `max(50, 4 × limit)` candidates passing the filters; the fused score
    /// `Σ w/(60 + rank)` (w = 1 for BM25, 0.7 for vectors) is scaled to 0…1 (1 = first in both lists), then multiplied by the importance weight
    /// (critical 1.0 … temporary 0.6) and a recency factor `0.7 + 0.3·e^(−hours since last access / 168)`.
    /// Returned memories get their access count raised and their last-access time set.
    /// - Parameter request: The query, filters and limit.
    /// - Returns: The hits, best first, and the embedder's name.
    /// - Throws: ``MemoryError`` `.invalidInput` (namespace, empty query, limit outside 1…100, min score
    ///   outside 0…1), `.storage`.
    public func search(_ request: MemorySearchRequest) throws(MemoryError) -> MemorySearchResponse {
        try search(request, mode: .hybrid)
    }

    /// Like ``search(_:)`` but with a choice of ranked lists, for measuring each one alone.
    /// - Parameters:
    ///   - request: The query, filters and limit.
    ///   - mode: Which lists to use.
    /// - Returns: The hits, best first.
    /// - Throws: As ``search(_:)``.
    public func search(_ request: MemorySearchRequest, mode: MemorySearchMode) throws(MemoryError)
        -> MemorySearchResponse
    {
        try Self.validateNamespace(request.namespace)
        guard !request.query.allSatisfy(\.isWhitespace) else {
            throw MemoryError.invalidInput("query is empty")
        }
        guard request.query.utf8.count <= Self.maxContentBytes else {
            throw MemoryError.tooLarge(
                "query is \(request.query.utf8.count) bytes; the limit is \(Self.maxContentBytes) bytes")
        }
        let limit = request.limit ?? 5
        guard (1...100).contains(limit) else {
            throw MemoryError.invalidInput("limit \(limit) is outside 1...100")
        }
        if let minScore = request.minScore, !(0...1).contains(minScore) {
            throw MemoryError.invalidInput("min_score \(minScore) is outside 0...1")
        }
        try Self.validateTags(request.tags ?? [])
        let depth = max(50, limit * 4)
        let vector = mode == .bm25 ? [] : embedder.embed(request.query)
        let now = Date()
        return try locked { () throws(MemoryError) -> MemorySearchResponse in
            let requiredTags = Set((request.tags ?? []).map { cipher.token("tag:" + MemoryText.normalize($0)) })
            let kinds = request.kinds.map(Set.init)
            let since = request.since?.timeIntervalSince1970
            let until = request.until?.timeIntervalSince1970

            var bm25Ranks: [Int64: Int] = [:]
            if mode != .vector {
                for (position, rowID) in try fullTextCandidates(request, requiredTags: requiredTags, depth: depth)
                    .enumerated()
                {
                    bm25Ranks[rowID] = position + 1
                }
            }
            var vectorRanks: [Int64: (rank: Int, similarity: Float)] = [:]
            if mode != .bm25 {
                let nearest = index.nearest(to: vector, namespace: request.namespace, limit: depth) { entry in
                    if let kinds, !kinds.contains(entry.kind) { return false }
                    if let since, entry.createdAt < since { return false }
                    if let until, entry.createdAt > until { return false }
                    return requiredTags.isSubset(of: entry.tagTokens)
                }
                for (position, hit) in nearest.enumerated() where hit.similarity > 0 {
                    vectorRanks[hit.rowID] = (position + 1, hit.similarity)
                }
            }
            let vectorWeight = mode == .hybrid ? Self.vectorWeight : 1
            let best = 1 / (Self.rrfK + 1) * ((mode == .vector ? 0 : 1) + (mode == .bm25 ? 0 : vectorWeight))
            var fused: [Int64: Double] = [:]
            for (rowID, rank) in bm25Ranks {
                fused[rowID, default: 0] += 1 / (Self.rrfK + Double(rank))
            }
            for (rowID, entry) in vectorRanks {
                fused[rowID, default: 0] += vectorWeight / (Self.rrfK + Double(entry.rank))
            }
            let stored = try fetch(rowIDs: Array(fused.keys))
            var hits: [(rowID: Int64, hit: MemorySearchHit)] = []
            for (rowID, rrf) in fused {
                guard let memory = stored[rowID]?.record else {
                    continue
                }
                if let expiresAt = memory.expiresAt, expiresAt <= now {
                    continue
                }
                let lastSeen = memory.lastAccessedAt ?? memory.createdAt
                let hours = max(0, now.timeIntervalSince(lastSeen) / 3600)
                let recency = 0.7 + 0.3 * exp(-hours / 168)
                let score = rrf / best * Self.searchWeight(memory.importance) * recency
                if let minScore = request.minScore, score < minScore {
                    continue
                }
                hits.append(
                    (
                        rowID,
                        MemorySearchHit(
                            memory: memory, score: score, bm25Rank: bm25Ranks[rowID],
                            vectorRank: vectorRanks[rowID]?.rank,
                            vectorSimilarity: vectorRanks[rowID].map { Double($0.similarity) })
                    ))
            }
            hits.sort { $0.hit.score != $1.hit.score ? $0.hit.score > $1.hit.score : $0.rowID < $1.rowID }
            hits = Array(hits.prefix(limit))
            if !hits.isEmpty {
                try transaction { () throws(MemoryError) in
                    for (rowID, _) in hits {
                        try sql {
                            try database.query(
                                "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ? "
                                    + "WHERE rowid = ?", [.real(now.timeIntervalSince1970), .integer(rowID)])
                        }
                    }
                }
                for position in hits.indices {
                    hits[position].hit.memory.accessCount += 1
                    hits[position].hit.memory.lastAccessedAt = now
                }
            }
            return MemorySearchResponse(hits: hits.map(\.hit), embedder: embedder.name)
        }
    }

    /// Row ids of the best BM25 matches passing the filters, best first.
    private func fullTextCandidates(_ request: MemorySearchRequest, requiredTags: Set<String>, depth: Int)
        throws(MemoryError) -> [Int64]
    {
        var seen = Set<String>()
        let tokens = MemoryText.terms(request.query).map { cipher.token($0) }.filter { seen.insert($0).inserted }
        guard !tokens.isEmpty else {
            return []
        }
        var sql = """
            SELECT memory_fts.rowid FROM memory_fts JOIN memories m ON m.rowid = memory_fts.rowid
            WHERE memory_fts MATCH ? AND m.namespace = ?
            """
        var bindings: [SQLiteValue] = [.text(tokens.joined(separator: " OR ")), .text(request.namespace)]
        if let kinds = request.kinds {
            sql += " AND m.kind IN (" + Array(repeating: "?", count: max(kinds.count, 1)).joined(separator: ",") + ")"
            bindings += kinds.isEmpty ? [.null] : kinds.map { .text($0.rawValue) }
        }
        if let since = request.since {
            sql += " AND m.created_at >= ?"
            bindings.append(.real(since.timeIntervalSince1970))
        }
        if let until = request.until {
            sql += " AND m.created_at <= ?"
            bindings.append(.real(until.timeIntervalSince1970))
        }
        for tag in requiredTags.sorted() {
            sql += " AND (' ' || m.tag_tokens || ' ') LIKE ?"
            bindings.append(.text("% \(tag) %"))
        }
        sql += " ORDER BY bm25(memory_fts) LIMIT ?"
        bindings.append(.int(depth))
        let statementText = sql
        let boundValues = bindings
        let rows = try self.sql { try database.query(statementText, boundValues) }
        return rows.compactMap { $0[0].int64Value }
    }
}

public import AgentAPI
import FoundationEssentials
import SQLite
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

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
    /// `Σ 1/(60 + rank)` is scaled to 0…1 (1 = first in both lists), then multiplied by the importance weight
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
    ///   - bm25Weight: The BM25 list's weight in hybrid fusion (the vector list weighs 1); `nil` for the
    ///     embedder's own (``embedderBM25Weight``). For choosing that weight.
    /// - Returns: The hits, best first.
    /// - Throws: As ``search(_:)``.
    public func search(_ request: MemorySearchRequest, mode: MemorySearchMode, bm25Weight: Double? = nil)
        throws(MemoryError) -> MemorySearchResponse
    {
        try search(
            request, mode: mode, bm25Weight: bm25Weight, vectorCandidates: MemoryVectorIndex.defaultCandidates)
    }

    /// Like ``search(_:mode:bm25Weight:)`` with a choice of how many memories the sign-bit pass of a dense query
    /// hands to the int8 rescore (see *Retrieval* in the module README), for choosing that count.
    /// - Parameters:
    ///   - request: The query, filters and limit.
    ///   - mode: Which lists to use.
    ///   - bm25Weight: The BM25 list's weight in hybrid fusion, `nil` for the embedder's own.
    ///   - vectorCandidates: Memories rescored with their int8 codes; 0 scores every memory that way.
    /// - Returns: The hits, best first.
    /// - Throws: As ``search(_:)``.
    public func search(
        _ request: MemorySearchRequest, mode: MemorySearchMode, bm25Weight: Double?, vectorCandidates: Int
    ) throws(MemoryError) -> MemorySearchResponse {
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
        let vector = mode == .bm25 ? [] : queryVector(request.query)
        let now = Date()
        return try locked { () throws(MemoryError) -> MemorySearchResponse in
            let requiredTags = Set((request.tags ?? []).map { cipher.token("tag:" + MemoryText.normalize($0)) })
            let kinds = request.kinds.map(Set.init)
            let since = request.since?.timeIntervalSince1970
            let until = request.until?.timeIntervalSince1970

            let accepts = { (entry: MemoryVectorIndex.Entry) -> Bool in
                if let kinds, !kinds.contains(entry.kind) { return false }
                if let since, entry.createdAt < since { return false }
                if let until, entry.createdAt > until { return false }
                return requiredTags.isSubset(of: entry.tagTokens)
            }

            var bm25Ranks: [Int64: Int] = [:]
            if mode != .vector {
                let candidates = fullTextCandidates(
                    request.query, namespace: request.namespace, depth: depth, accepts: accepts)
                for (position, rowID) in candidates.enumerated() {
                    bm25Ranks[rowID] = position + 1
                }
            }
            var vectorRanks: [Int64: (rank: Int, similarity: Float)] = [:]
            if mode != .bm25 {
                let nearest = index.nearest(
                    to: vector, namespace: request.namespace, limit: depth, candidates: max(0, vectorCandidates),
                    filter: accepts)
                for (position, hit) in nearest.enumerated() where hit.similarity > 0 {
                    vectorRanks[hit.rowID] = (position + 1, hit.similarity)
                }
            }
            let textWeight = mode == .hybrid ? bm25Weight ?? embedder.bm25Weight : 1
            let best = 1 / (Self.rrfK + 1) * ((mode == .vector ? 0 : textWeight) + (mode == .bm25 ? 0 : 1))
            var fused: [Int64: Double] = [:]
            for (rowID, rank) in bm25Ranks {
                fused[rowID, default: 0] += textWeight / (Self.rrfK + Double(rank))
            }
            for (rowID, entry) in vectorRanks {
                fused[rowID, default: 0] += 1 / (Self.rrfK + Double(entry.rank))
            }
            // Rank on the clear columns; only the hits that are returned are decrypted.
            let fields = try rankingFields(rowIDs: Array(fused.keys))
            let nowSeconds = now.timeIntervalSince1970
            var ranked: [(rowID: Int64, score: Double)] = []
            ranked.reserveCapacity(fused.count)
            for (rowID, rrf) in fused {
                guard let field = fields[rowID] else {
                    continue
                }
                if let expiresAt = field.expiresAt, expiresAt <= nowSeconds {
                    continue
                }
                let hours = max(0, (nowSeconds - (field.lastAccessedAt ?? field.createdAt)) / 3600)
                let recency = 0.7 + 0.3 * exp(-hours / 168)
                let score = rrf / best * Self.searchWeight(field.importance) * recency
                if let minScore = request.minScore, score < minScore {
                    continue
                }
                ranked.append((rowID, score))
            }
            ranked.sort { $0.score != $1.score ? $0.score > $1.score : $0.rowID < $1.rowID }
            ranked = Array(ranked.prefix(limit))
            let stored = try fetch(rowIDs: ranked.map(\.rowID))
            var hits: [MemorySearchHit] = []
            hits.reserveCapacity(ranked.count)
            for (rowID, score) in ranked {
                guard var memory = stored[rowID]?.record else {
                    continue
                }
                memory.accessCount += 1
                memory.lastAccessedAt = now
                hits.append(
                    MemorySearchHit(
                        memory: memory, score: score, bm25Rank: bm25Ranks[rowID],
                        vectorRank: vectorRanks[rowID]?.rank,
                        vectorSimilarity: vectorRanks[rowID].map { Double($0.similarity) }))
            }
            if !ranked.isEmpty {
                try transaction { () throws(MemoryError) in
                    for (rowID, _) in ranked {
                        try sql {
                            try database.query(
                                "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ? "
                                    + "WHERE rowid = ?", [.real(nowSeconds), .integer(rowID)])
                        }
                    }
                }
            }
            return MemorySearchResponse(hits: hits, embedder: embedder.name)
        }
    }

    /// The query's embedding, from ``MemoryQueryCache`` when it was asked lately.
    func queryVector(_ query: String) -> [Float] {
        if let cached = queryCache.withLock({ $0.vector(for: query) }) {
            return cached
        }
        let vector = embedder.embed(query)
        queryCache.withLock { $0.insert(vector, for: query) }
        return vector
    }

    /// The clear columns ranking needs, by rowid.
    struct RankingFields {
        var importance: MemoryImportance
        var createdAt: Double
        var lastAccessedAt: Double?
        var expiresAt: Double?
    }

    func rankingFields(rowIDs: [Int64]) throws(MemoryError) -> [Int64: RankingFields] {
        guard !rowIDs.isEmpty else {
            return [:]
        }
        let placeholders = Array(repeating: "?", count: rowIDs.count).joined(separator: ",")
        let rows = try sql {
            try database.query(
                "SELECT rowid, importance, created_at, last_accessed_at, expires_at FROM memories "
                    + "WHERE rowid IN (\(placeholders))", rowIDs.map { .integer($0) })
        }
        var fields: [Int64: RankingFields] = [:]
        for row in rows {
            guard let rowID = row[0].int64Value else {
                continue
            }
            fields[rowID] = RankingFields(
                importance: MemoryImportance(rawValue: row[1].stringValue ?? "") ?? .medium,
                createdAt: row[2].doubleValue ?? 0, lastAccessedAt: row[3].doubleValue, expiresAt: row[4].doubleValue)
        }
        return fields
    }

    /// Row ids of the best BM25 matches in the namespace passing `accepts`, best first.
    ///
    /// Scored from the in-memory inverted index (the same keyed term hashes as `memory_fts`): only the postings
    /// of the query's terms are read, and no row of the database.
    private func fullTextCandidates(
        _ query: String, namespace: String, depth: Int, accepts: (MemoryVectorIndex.Entry) -> Bool
    ) -> [Int64] {
        let terms = termKeys(query)
        guard !terms.isEmpty else {
            return []
        }
        return index.bm25(terms: terms, namespace: namespace, limit: depth, filter: accepts)
    }
}

/// The embeddings of the latest distinct queries (``capacity`` of them, the oldest dropped first), so a query
/// asked again, such as an agent looking up fixes for an error that recurs, skips the model.
struct MemoryQueryCache {
    static let capacity = 64

    private var vectors: [String: [Float]] = [:]
    /// The cached queries, oldest first.
    private var order: [String] = []

    func vector(for query: String) -> [Float]? {
        vectors[query]
    }

    mutating func insert(_ vector: [Float], for query: String) {
        guard vectors.updateValue(vector, forKey: query) == nil else {
            return
        }
        order.append(query)
        if order.count > Self.capacity {
            vectors[order.removeFirst()] = nil
        }
    }
}

import AgentAPI

/// The vectors of one store, kept in memory per namespace and searched by brute force.
///
/// Each vector is quantized to signed 8-bit values with one scale per vector (`value ≈ scale · code`, the
/// largest magnitude maps to 127), and stored column by column: `columns[d][i]` is dimension `d` of the
/// namespace's `i`-th vector. A search adds `query[d] · columns[d]` into a block of scores for every non-zero
/// dimension of the query only, so the sparse vectors of the hashed embedder (a few dozen of 256 dimensions
/// set) cost a fraction of a full scan, and a dense model's 64 dimensions stream 64 bytes per memory.
/// The quantized cosine is within about 1 % of the exact one; callers needing the exact value (the
/// near-duplicate test) recompute it from the stored vector.
///
/// Not thread-safe on its own: ``MemoryStore`` uses it under its lock.
struct MemoryVectorIndex {
    /// What the filters of a search need to know about a memory without decrypting it.
    struct Entry {
        var kind: MemoryKind
        var createdAt: Double
        var tagTokens: Set<String>
    }

    struct Partition {
        var rowIDs: [Int64] = []
        var entries: [Entry] = []
        var scales: [Float] = []
        var columns: [[Int8]]
        var positions: [Int64: Int] = [:]

        init(dimensions: Int) {
            columns = Array(repeating: [], count: dimensions)
        }

        var count: Int { rowIDs.count }
    }

    /// Scores are accumulated in blocks this long, so a block stays in the first-level cache.
    static let blockLength = 4_096

    let dimensions: Int
    private(set) var partitions: [String: Partition] = [:]

    init(dimensions: Int) {
        self.dimensions = dimensions
    }

    /// Memories held, over all namespaces.
    var count: Int {
        partitions.values.reduce(0) { $0 + $1.count }
    }

    /// Bytes held by the quantized vectors and their scales (not counting the entries and the row map).
    var vectorBytes: Int {
        partitions.values.reduce(0) { $0 + $1.count * (dimensions + MemoryLayout<Float>.size) }
    }

    mutating func removeAll() {
        partitions = [:]
    }

    /// The namespace and filter fields of a row, when the index holds it.
    func entry(rowID: Int64, namespace: String) -> Entry? {
        guard let partition = partitions[namespace], let position = partition.positions[rowID] else {
            return nil
        }
        return partition.entries[position]
    }

    /// The quantized codes and scale of a vector.
    static func quantize(_ vector: [Float]) -> (codes: [Int8], scale: Float) {
        var largest: Float = 0
        for value in vector {
            largest = max(largest, abs(value))
        }
        guard largest > 0, largest.isFinite else {
            return ([Int8](repeating: 0, count: vector.count), 0)
        }
        let scale = largest / 127
        let codes = vector.map { Int8(max(-127, min(127, ($0 / scale).rounded()))) }
        return (codes, scale)
    }

    mutating func upsert(rowID: Int64, namespace: String, entry: Entry, vector: [Float]) {
        precondition(vector.count == dimensions, "vector length must match the index")
        let (codes, scale) = Self.quantize(vector)
        var partition = partitions.removeValue(forKey: namespace) ?? Partition(dimensions: dimensions)
        if let position = partition.positions[rowID] {
            partition.entries[position] = entry
            partition.scales[position] = scale
            for dimension in 0..<dimensions {
                partition.columns[dimension][position] = codes[dimension]
            }
        } else {
            partition.positions[rowID] = partition.rowIDs.count
            partition.rowIDs.append(rowID)
            partition.entries.append(entry)
            partition.scales.append(scale)
            for dimension in 0..<dimensions {
                partition.columns[dimension].append(codes[dimension])
            }
        }
        partitions[namespace] = partition
    }

    mutating func remove(rowID: Int64, namespace: String) {
        guard var partition = partitions.removeValue(forKey: namespace) else {
            return
        }
        defer { partitions[namespace] = partition.rowIDs.isEmpty ? nil : partition }
        guard let position = partition.positions[rowID] else {
            return
        }
        let last = partition.rowIDs.count - 1
        if position != last {
            let movedRow = partition.rowIDs[last]
            partition.rowIDs[position] = movedRow
            partition.entries[position] = partition.entries[last]
            partition.scales[position] = partition.scales[last]
            for dimension in 0..<dimensions {
                partition.columns[dimension][position] = partition.columns[dimension][last]
            }
            partition.positions[movedRow] = position
        }
        partition.rowIDs.removeLast()
        partition.entries.removeLast()
        partition.scales.removeLast()
        for dimension in 0..<dimensions {
            partition.columns[dimension].removeLast()
        }
        partition.positions[rowID] = nil
    }

    /// The `limit` most similar vectors (cosine, since all are unit length) passing `filter`, best first.
    func nearest(
        to query: [Float], namespace: String, limit: Int, filter: (Entry) -> Bool
    ) -> [(rowID: Int64, similarity: Float)] {
        guard let partition = partitions[namespace], limit > 0, query.count == dimensions else {
            return []
        }
        let active = (0..<dimensions).filter { query[$0] != 0 }
        guard !active.isEmpty else {
            return []
        }
        var best: [(rowID: Int64, similarity: Float)] = []
        best.reserveCapacity(limit + 1)
        var floor = -Float.infinity
        var scores = [Float](repeating: 0, count: Self.blockLength)
        let count = partition.count
        var blockStart = 0
        while blockStart < count {
            let blockEnd = min(blockStart + Self.blockLength, count)
            let length = blockEnd - blockStart
            scores.withUnsafeMutableBufferPointer { block in
                for index in 0..<length {
                    block[index] = 0
                }
                for dimension in active {
                    let weight = query[dimension]
                    partition.columns[dimension].withUnsafeBufferPointer { column in
                        let codes = UnsafeBufferPointer(rebasing: column[blockStart..<blockEnd])
                        for index in 0..<length {
                            block[index] += weight * Float(codes[index])
                        }
                    }
                }
            }
            for index in 0..<length {
                let position = blockStart + index
                let similarity = scores[index] * partition.scales[position]
                guard similarity > floor || best.count < limit else {
                    continue
                }
                guard filter(partition.entries[position]) else {
                    continue
                }
                let slot = best.firstIndex { $0.similarity < similarity } ?? best.count
                best.insert((partition.rowIDs[position], similarity), at: slot)
                if best.count > limit {
                    best.removeLast()
                }
                if best.count == limit, let last = best.last {
                    floor = last.similarity
                }
            }
            blockStart = blockEnd
        }
        return best
    }
}

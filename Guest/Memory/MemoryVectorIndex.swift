import AgentAPI
import Foundation

/// The decrypted vectors of one store, grouped by namespace, searched by brute force.
///
/// Not thread-safe on its own: ``MemoryStore`` uses it under its lock.
struct MemoryVectorIndex {
    struct Entry {
        var kind: MemoryKind
        var createdAt: Double
        var tagTokens: Set<String>
    }

    struct Partition {
        var rowIDs: [Int64] = []
        var entries: [Entry] = []
        var vectors: [Float] = []
        var positions: [Int64: Int] = [:]
    }

    let dimensions: Int
    private(set) var partitions: [String: Partition] = [:]

    init(dimensions: Int) {
        self.dimensions = dimensions
    }

    mutating func removeAll() {
        partitions = [:]
    }

    mutating func upsert(rowID: Int64, namespace: String, entry: Entry, vector: [Float]) {
        precondition(vector.count == dimensions, "vector length must match the index")
        var partition = partitions[namespace] ?? Partition()
        partitions[namespace] = nil
        if let position = partition.positions[rowID] {
            partition.entries[position] = entry
            partition.vectors.replaceSubrange(
                (position * dimensions)..<((position + 1) * dimensions), with: vector)
        } else {
            partition.positions[rowID] = partition.rowIDs.count
            partition.rowIDs.append(rowID)
            partition.entries.append(entry)
            partition.vectors.append(contentsOf: vector)
        }
        partitions[namespace] = partition
    }

    mutating func remove(rowID: Int64, namespace: String) {
        guard var partition = partitions[namespace], let position = partition.positions[rowID] else {
            return
        }
        partitions[namespace] = nil
        let last = partition.rowIDs.count - 1
        if position != last {
            let movedRow = partition.rowIDs[last]
            partition.rowIDs[position] = movedRow
            partition.entries[position] = partition.entries[last]
            for index in 0..<dimensions {
                partition.vectors[position * dimensions + index] = partition.vectors[last * dimensions + index]
            }
            partition.positions[movedRow] = position
        }
        partition.rowIDs.removeLast()
        partition.entries.removeLast()
        partition.vectors.removeLast(dimensions)
        partition.positions[rowID] = nil
        partitions[namespace] = partition.rowIDs.isEmpty ? nil : partition
    }

    /// The `limit` most similar vectors (cosine, since all are unit length) passing `filter`, best first.
    func nearest(
        to query: [Float], namespace: String, limit: Int, filter: (Entry) -> Bool
    ) -> [(rowID: Int64, similarity: Float)] {
        guard let partition = partitions[namespace], limit > 0 else {
            return []
        }
        let dimensions = self.dimensions
        var best: [(rowID: Int64, similarity: Float)] = []
        best.reserveCapacity(limit + 1)
        var floor = -Float.infinity
        let lanes = dimensions / 8
        query.withUnsafeBufferPointer { queryBuffer in
            partition.vectors.withUnsafeBufferPointer { vectors in
                guard let queryBase = UnsafeRawPointer(queryBuffer.baseAddress),
                    let vectorBase = UnsafeRawPointer(vectors.baseAddress)
                else {
                    return
                }
                let stride = MemoryLayout<SIMD8<Float>>.stride
                for position in 0..<partition.rowIDs.count {
                    let base = position * dimensions
                    // Eight lanes at a time; the tail (when dimensions is not a multiple of 8) one by one.
                    var accumulator = SIMD8<Float>()
                    let row = vectorBase + base * MemoryLayout<Float>.stride
                    for lane in 0..<lanes {
                        accumulator +=
                            queryBase.loadUnaligned(fromByteOffset: lane * stride, as: SIMD8<Float>.self)
                            * row.loadUnaligned(fromByteOffset: lane * stride, as: SIMD8<Float>.self)
                    }
                    var sum = accumulator.sum()
                    for index in (lanes * 8)..<dimensions {
                        sum += queryBuffer[index] * vectors[base + index]
                    }
                    guard sum > floor || best.count < limit else {
                        continue
                    }
                    guard filter(partition.entries[position]) else {
                        continue
                    }
                    let slot = best.firstIndex { $0.similarity < sum } ?? best.count
                    best.insert((partition.rowIDs[position], sum), at: slot)
                    if best.count > limit {
                        best.removeLast()
                    }
                    if best.count == limit, let last = best.last {
                        floor = last.similarity
                    }
                }
            }
        }
        return best
    }
}

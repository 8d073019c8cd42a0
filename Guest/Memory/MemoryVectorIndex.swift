import AgentAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

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
/// The same partitions hold an inverted index of the keyed term hashes (the terms of `memory_fts`, as 64-bit
/// numbers) for BM25 (k1 = 1.2, b = 0.75, FTS5's formula over the namespace's memories): a query reads the
/// postings of its terms only, with no SQL and no decryption.
///
/// Not thread-safe on its own: ``MemoryStore`` uses it under its lock.
struct MemoryVectorIndex {
    /// One memory in a term's posting list.
    struct Posting {
        var rowID: Int64
        var frequency: Float
    }

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
        /// The sign of every dimension, one bit each, `signWords` words per vector one after the other.
        var signs: [UInt64] = []
        var positions: [Int64: Int] = [:]
        /// Terms per memory (with repeats), and the distinct ones to find its postings again.
        var lengths: [Int32] = []
        var distinctTerms: [[UInt64]] = []
        var postings: [UInt64: [Posting]] = [:]
        var totalLength = 0

        init(dimensions: Int) {
            columns = Array(repeating: [], count: dimensions)
        }

        var count: Int { rowIDs.count }
    }

    /// Scores are accumulated in blocks this long, so a block stays in the first-level cache.
    static let blockLength = 4_096

    /// Candidates the sign-bit pass hands to the int8 rescore of a dense query (see ``nearest(to:namespace:limit:candidates:filter:)``).
    static let defaultCandidates = 800

    let dimensions: Int
    /// 64-bit words of sign bits per vector.
    let signWords: Int
    private(set) var partitions: [String: Partition] = [:]

    init(dimensions: Int) {
        self.dimensions = dimensions
        self.signWords = (dimensions + 63) / 64
    }

    /// Memories held, over all namespaces.
    var count: Int {
        partitions.values.reduce(0) { $0 + $1.count }
    }

    /// Bytes held by the quantized vectors, their scales and their sign bits (not counting the entries and the
    /// row map).
    var vectorBytes: Int {
        partitions.values.reduce(0) { $0 + $1.count * (dimensions + MemoryLayout<Float>.size + signWords * 8) }
    }

    /// Heap bytes of each part of the index over all namespaces (capacities, not counts; the allocator's own
    /// headers not included): the measured answer to where the index's memory goes.
    var partBytes: [(part: String, bytes: Int)] {
        var parts: [(part: String, bytes: Int)] = [
            ("vector codes (int8 columns)", 0), ("vector scales", 0), ("sign bits", 0), ("row ids", 0),
            ("rowid → position map", 0), ("filter entries", 0), ("tag token sets", 0), ("term counts", 0),
            ("distinct terms per memory", 0), ("postings", 0),
        ]
        let arrayHeader = 32
        for partition in partitions.values {
            parts[0].bytes += partition.columns.reduce(0) { $0 + $1.capacity + arrayHeader }
            parts[1].bytes += partition.scales.capacity * 4
            parts[2].bytes += partition.signs.capacity * 8
            parts[3].bytes += partition.rowIDs.capacity * 8
            parts[4].bytes += partition.positions.capacity * (8 + 8)
            parts[5].bytes += partition.entries.capacity * MemoryLayout<Entry>.stride
            for entry in partition.entries where !entry.tagTokens.isEmpty {
                parts[6].bytes +=
                    arrayHeader + entry.tagTokens.capacity * 16
                    + entry.tagTokens.reduce(0) { $0 + ($1.utf8.count > 15 ? arrayHeader + $1.utf8.count : 0) }
            }
            parts[7].bytes += partition.lengths.capacity * 4
            parts[8].bytes +=
                partition.distinctTerms.capacity * 8
                + partition.distinctTerms.reduce(0) { $0 + ($1.isEmpty ? 0 : arrayHeader + $1.capacity * 8) }
            parts[9].bytes +=
                partition.postings.capacity * (8 + 8)
                + partition.postings.values.reduce(0) {
                    $0 + arrayHeader + $1.capacity * MemoryLayout<Posting>.stride
                }
        }
        return parts
    }

    /// The sign bits of a vector (bit `d % 64` of word `d / 64` set when dimension `d` is negative).
    func signBits(_ vector: [Float]) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: signWords)
        for (dimension, value) in vector.enumerated() where value < 0 {
            words[dimension / 64] |= 1 << UInt64(dimension % 64)
        }
        return words
    }

    mutating func removeAll() {
        partitions = [:]
    }

    /// Sizes a namespace's arrays for `count` memories before a load appends them one at a time: grown by
    /// doubling instead, the columns leave up to half their capacity unused and the freed smaller buffers stay in
    /// the process's heap.
    mutating func reserve(namespace: String, count: Int) {
        var partition = partitions.removeValue(forKey: namespace) ?? Partition(dimensions: dimensions)
        for dimension in 0..<dimensions {
            partition.columns[dimension].reserveCapacity(count)
        }
        partition.signs.reserveCapacity(count * signWords)
        partition.rowIDs.reserveCapacity(count)
        partition.entries.reserveCapacity(count)
        partition.scales.reserveCapacity(count)
        partition.lengths.reserveCapacity(count)
        partition.distinctTerms.reserveCapacity(count)
        partition.positions.reserveCapacity(count)
        partitions[namespace] = partition
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

    mutating func upsert(rowID: Int64, namespace: String, entry: Entry, vector: [Float], terms: [UInt64]) {
        precondition(vector.count == dimensions, "vector length must match the index")
        let (codes, scale) = Self.quantize(vector)
        let signs = signBits(vector)
        var partition = partitions.removeValue(forKey: namespace) ?? Partition(dimensions: dimensions)
        var counts: [UInt64: Int] = [:]
        for term in terms {
            counts[term, default: 0] += 1
        }
        let distinct = Array(counts.keys)
        if let position = partition.positions[rowID] {
            partition.removePostings(rowID: rowID, position: position)
            partition.entries[position] = entry
            partition.scales[position] = scale
            for dimension in 0..<dimensions {
                partition.columns[dimension][position] = codes[dimension]
            }
            for word in 0..<signWords {
                partition.signs[position * signWords + word] = signs[word]
            }
            partition.lengths[position] = Int32(clamping: terms.count)
            partition.distinctTerms[position] = distinct
        } else {
            partition.positions[rowID] = partition.rowIDs.count
            partition.rowIDs.append(rowID)
            partition.entries.append(entry)
            partition.scales.append(scale)
            for dimension in 0..<dimensions {
                partition.columns[dimension].append(codes[dimension])
            }
            partition.signs.append(contentsOf: signs)
            partition.lengths.append(Int32(clamping: terms.count))
            partition.distinctTerms.append(distinct)
        }
        partition.totalLength += terms.count
        for (term, count) in counts {
            partition.postings[term, default: []].append(Posting(rowID: rowID, frequency: Float(count)))
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
        partition.removePostings(rowID: rowID, position: position)
        let last = partition.rowIDs.count - 1
        if position != last {
            let movedRow = partition.rowIDs[last]
            partition.rowIDs[position] = movedRow
            partition.entries[position] = partition.entries[last]
            partition.scales[position] = partition.scales[last]
            partition.lengths[position] = partition.lengths[last]
            partition.distinctTerms[position] = partition.distinctTerms[last]
            for dimension in 0..<dimensions {
                partition.columns[dimension][position] = partition.columns[dimension][last]
            }
            for word in 0..<signWords {
                partition.signs[position * signWords + word] = partition.signs[last * signWords + word]
            }
            partition.positions[movedRow] = position
        }
        partition.rowIDs.removeLast()
        partition.entries.removeLast()
        partition.scales.removeLast()
        partition.lengths.removeLast()
        partition.distinctTerms.removeLast()
        for dimension in 0..<dimensions {
            partition.columns[dimension].removeLast()
        }
        partition.signs.removeLast(signWords)
        partition.positions[rowID] = nil
    }

    /// The `limit` best BM25 matches of `terms` (any of them) passing `filter`, best first; ties by rowid.
    func bm25(terms: [UInt64], namespace: String, limit: Int, filter: (Entry) -> Bool) -> [Int64] {
        guard let partition = partitions[namespace], limit > 0, partition.count > 0, partition.totalLength > 0
        else {
            return []
        }
        let count = Double(partition.count)
        let averageLength = Double(partition.totalLength) / count
        let k1 = 1.2
        let b = 0.75
        var scores = [Double](repeating: 0, count: partition.count)
        var touched: [Int] = []
        for term in Set(terms) {
            guard let list = partition.postings[term] else {
                continue
            }
            let frequency = Double(list.count)
            var idf = log((count - frequency + 0.5) / (frequency + 0.5))
            if idf <= 0 {
                idf = 1e-6
            }
            for posting in list {
                guard let position = partition.positions[posting.rowID] else {
                    continue
                }
                let tf = Double(posting.frequency)
                let length = Double(partition.lengths[position])
                if scores[position] == 0 {
                    touched.append(position)
                }
                scores[position] += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / averageLength))
            }
        }
        var best: [(rowID: Int64, score: Double)] = []
        best.reserveCapacity(limit + 1)
        for position in touched {
            let score = scores[position]
            let rowID = partition.rowIDs[position]
            if best.count == limit, let last = best.last,
                score < last.score || (score == last.score && rowID > last.rowID)
            {
                continue
            }
            guard filter(partition.entries[position]) else {
                continue
            }
            let slot =
                best.firstIndex { $0.score < score || ($0.score == score && $0.rowID > rowID) } ?? best.count
            best.insert((rowID, score), at: slot)
            if best.count > limit {
                best.removeLast()
            }
        }
        return best.map(\.rowID)
    }

    /// `scores[i] += weight · codes[i]` for `count` entries, sixteen at a time. Optimized for speed even in the
    /// size-optimized agent: the scan over every memory's dense model vector is most of a search at 100,000.
    @_optimize(speed)
    static func accumulate(
        _ weight: Float, _ codes: UnsafePointer<Int8>, into scores: UnsafeMutablePointer<Float>, count: Int
    ) {
        let factor = SIMD16<Float>(repeating: weight)
        var index = 0
        while index + 16 <= count {
            let packed = UnsafeRawPointer(codes + index).loadUnaligned(as: SIMD16<Int8>.self)
            let target = UnsafeMutableRawPointer(scores + index)
            let sum =
                target.loadUnaligned(as: SIMD16<Float>.self)
                + factor * SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: packed))
            target.storeBytes(of: sum, as: SIMD16<Float>.self)
            index += 16
        }
        while index < count {
            scores[index] += weight * Float(codes[index])
            index += 1
        }
    }

    /// The `limit` most similar vectors (cosine, since all are unit length) passing `filter`, best first.
    ///
    /// A dense query (more than half of its dimensions set, as a model's are) over more than `candidates`
    /// memories takes two passes: the Hamming distance between its sign bits and every memory's picks the
    /// `candidates` closest memories passing `filter`, and only those are scored with their int8 codes.
    /// Otherwise (a sparse query, a small namespace, `candidates` 0) every memory is scored with its int8 codes.
    func nearest(
        to query: [Float], namespace: String, limit: Int, candidates: Int = defaultCandidates,
        filter: (Entry) -> Bool
    ) -> [(rowID: Int64, similarity: Float)] {
        guard let partition = partitions[namespace], limit > 0, query.count == dimensions else {
            return []
        }
        let active = (0..<dimensions).filter { query[$0] != 0 }
        guard !active.isEmpty else {
            return []
        }
        if candidates > 0, active.count * 2 > dimensions, partition.count > max(candidates, limit) {
            let chosen = closestSigns(
                to: query, in: partition, count: max(candidates, limit), filter: filter)
            return rescore(query, active: active, positions: chosen, in: partition, limit: limit)
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
                guard let scores = block.baseAddress else { return }
                for dimension in active {
                    partition.columns[dimension].withUnsafeBufferPointer { column in
                        guard let codes = column.baseAddress else { return }
                        Self.accumulate(query[dimension], codes + blockStart, into: scores, count: length)
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

extension MemoryVectorIndex {
    /// Positions of the `count` memories passing `filter` whose sign bits differ least from the query's (ties by
    /// position): every distance is counted, then the positions are sorted by distance (a counting sort, the
    /// distance being at most the dimension count) and taken closest first.
    @_optimize(speed)
    fileprivate func closestSigns(
        to query: [Float], in partition: Partition, count: Int, filter: (Entry) -> Bool
    ) -> [Int] {
        let querySigns = signBits(query)
        let total = partition.count
        let words = signWords
        var distances = [UInt16](repeating: 0, count: total)
        // starts[d + 1] counts the distances d; summed up, starts[d] is where distance d begins in `order`.
        var starts = [Int](repeating: 0, count: dimensions + 2)
        partition.signs.withUnsafeBufferPointer { signs in
            querySigns.withUnsafeBufferPointer { wanted in
                distances.withUnsafeMutableBufferPointer { distances in
                    starts.withUnsafeMutableBufferPointer { starts in
                        for position in 0..<total {
                            let base = position * words
                            var distance = 0
                            for word in 0..<words {
                                distance += (signs[base + word] ^ wanted[word]).nonzeroBitCount
                            }
                            distances[position] = UInt16(distance)
                            starts[distance + 1] += 1
                        }
                    }
                }
            }
        }
        for bucket in 1..<starts.count {
            starts[bucket] += starts[bucket - 1]
        }
        var order = [Int32](repeating: 0, count: total)
        for position in 0..<total {
            let distance = Int(distances[position])
            order[starts[distance]] = Int32(position)
            starts[distance] += 1
        }
        var chosen: [Int] = []
        chosen.reserveCapacity(count)
        for position in order {
            guard chosen.count < count else {
                break
            }
            if filter(partition.entries[Int(position)]) {
                chosen.append(Int(position))
            }
        }
        return chosen
    }

    /// The `limit` best of `positions` by their int8 codes, as ``nearest(to:namespace:limit:candidates:filter:)``
    /// scores every memory in a full scan (the same sums in the same order, so the same similarities).
    @_optimize(speed)
    fileprivate func rescore(
        _ query: [Float], active: [Int], positions: [Int], in partition: Partition, limit: Int
    ) -> [(rowID: Int64, similarity: Float)] {
        let sorted = positions.sorted()
        var sums = [Float](repeating: 0, count: sorted.count)
        sums.withUnsafeMutableBufferPointer { sums in
            sorted.withUnsafeBufferPointer { sorted in
                for dimension in active {
                    let weight = query[dimension]
                    partition.columns[dimension].withUnsafeBufferPointer { column in
                        for slot in 0..<sorted.count {
                            sums[slot] += weight * Float(column[sorted[slot]])
                        }
                    }
                }
            }
        }
        var scored = sorted.indices.map { (position: sorted[$0], similarity: sums[$0] * partition.scales[sorted[$0]]) }
        scored.sort { $0.similarity != $1.similarity ? $0.similarity > $1.similarity : $0.position < $1.position }
        return scored.prefix(limit).map { (partition.rowIDs[$0.position], $0.similarity) }
    }
}

extension MemoryVectorIndex.Partition {
    /// Takes the memory at `position` out of the posting lists of its terms.
    fileprivate mutating func removePostings(rowID: Int64, position: Int) {
        for term in distinctTerms[position] {
            guard var list = postings.removeValue(forKey: term) else {
                continue
            }
            list.removeAll { $0.rowID == rowID }
            if !list.isEmpty {
                postings[term] = list
            }
        }
        totalLength -= Int(lengths[position])
    }
}

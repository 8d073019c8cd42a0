import AgentAPI
import Foundation
import SQLite
import Testing

@testable import Memory

@Suite("Memory compact vectors: int8 on disk, sign-bit first pass")
struct MemoryCompactVectorTests {
    /// SplitMix64, so every run builds the same vectors.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
    }

    static func unit(_ values: [Float]) -> [Float] {
        let length = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return values.map { $0 / length }
    }

    static func random(_ dimensions: Int, _ generator: inout Seeded) -> [Float] {
        unit((0..<dimensions).map { _ in Float.random(in: -1...1, using: &generator) })
    }

    static func entry(_ kind: MemoryKind = .document) -> MemoryVectorIndex.Entry {
        MemoryVectorIndex.Entry(kind: kind, createdAt: 0, tagTokens: [])
    }

    @Test("the sign-bit pass and int8 rescore find the planted neighbour, with the full scan's similarities")
    func signBitPassFindsNeighbours() {
        var generator = Seeded(state: 11)
        var index = MemoryVectorIndex(dimensions: 384)
        var vectors: [[Float]] = []
        for number in 0..<3_000 {
            let vector = Self.random(384, &generator)
            vectors.append(vector)
            index.upsert(
                rowID: Int64(number), namespace: "n", entry: Self.entry(number % 2 == 0 ? .document : .errorFix),
                vector: vector, terms: [])
        }
        // Swap-removes move the last vectors (and their sign bits) into the holes.
        for number in [0, 500, 1_234] {
            index.remove(rowID: Int64(number), namespace: "n")
        }
        for number in [2_999, 2_998, 2_997, 7, 1_500, 2_222] {
            let query = Self.unit(zip(vectors[number], Self.random(384, &generator)).map { $0 + 0.6 * $1 })
            let twoPass = index.nearest(to: query, namespace: "n", limit: 10, candidates: 100) { _ in true }
            let full = index.nearest(to: query, namespace: "n", limit: 10, candidates: 0) { _ in true }
            #expect(twoPass.count == 10)
            #expect(twoPass.first?.rowID == Int64(number))
            #expect(twoPass.first?.rowID == full.first?.rowID)
            #expect(twoPass.first?.similarity == full.first?.similarity)
            let filtered = index.nearest(to: query, namespace: "n", limit: 10, candidates: 100) {
                $0.kind == .document
            }
            #expect(filtered.count == 10)
            #expect(filtered.allSatisfy { $0.rowID % 2 == 0 })
            #expect(filtered.contains { $0.rowID == Int64(number) } == (number % 2 == 0))
        }
        for number in [0, 500, 1_234] {
            let hits = index.nearest(to: vectors[number], namespace: "n", limit: 5, candidates: 100) { _ in true }
            #expect(!hits.contains { $0.rowID == Int64(number) })
        }
    }

    @Test("a wide candidate set gives exactly the full scan's answer")
    func coveringCandidatesEqualFullScan() {
        var generator = Seeded(state: 5)
        var index = MemoryVectorIndex(dimensions: 64)
        for number in 0..<500 {
            index.upsert(
                rowID: Int64(number), namespace: "n", entry: Self.entry(), vector: Self.random(64, &generator),
                terms: [])
        }
        for _ in 0..<10 {
            let query = Self.random(64, &generator)
            let all = index.nearest(to: query, namespace: "n", limit: 20, candidates: 450) { _ in true }
            let full = index.nearest(to: query, namespace: "n", limit: 20, candidates: 0) { _ in true }
            #expect(all.map(\.rowID) == full.map(\.rowID))
            #expect(all.map(\.similarity) == full.map(\.similarity))
        }
    }

    @Test("the query cache keeps the latest 64 distinct queries' embeddings")
    func queryCacheKeepsLatest() {
        var cache = MemoryQueryCache()
        for number in 0..<(MemoryQueryCache.capacity + 6) {
            cache.insert([Float(number)], for: "query \(number)")
        }
        cache.insert([-1], for: "query 10")
        #expect(cache.vector(for: "query 5") == nil)
        #expect(cache.vector(for: "query 6") == [6])
        #expect(cache.vector(for: "query 10") == [-1])
        #expect(cache.vector(for: "query \(MemoryQueryCache.capacity + 5)") == [Float(MemoryQueryCache.capacity + 5)])
    }

    /// Every stored vector's sealed plaintext length.
    static func storedLengths(_ store: MemoryStore) throws -> [Int] {
        try store.database.query("SELECT embedding FROM memories ORDER BY rowid").map {
            try store.cipher.open($0[0].blobValue ?? []).count
        }
    }

    /// Rewrites the vectors of the rows in `rowIDs` as a store before the int8 format kept them (F32 values).
    static func writeLegacyVectors(_ store: MemoryStore, contents: [Int64: String]) throws {
        for (rowID, content) in contents {
            var bytes: [UInt8] = []
            for value in store.embed(content) {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
            _ = try store.database.query(
                "UPDATE memories SET embedding = ? WHERE rowid = ?",
                [.blob(try store.cipher.seal(bytes)), .integer(rowID)])
        }
        _ = try store.database.query("DELETE FROM memory_meta WHERE name = 'vector_format'")
    }

    @Test("kill -9 while F32 vectors are converted, 30 times: every memory keeps its vector", .timeLimit(.minutes(3)))
    func conversionSurvivesKills() throws {
        let directory = try TemporaryDirectory()
        let count = 3 * MemoryStore.vectorConversionBatch
        do {
            let store = try openStore(directory)
            let now = Date()
            _ = try store.importRecords(
                (0..<count).map {
                    MemoryRecord(
                        id: "m\($0)", namespace: "n", kind: .document, content: "beacon\($0) meadow\($0)", tags: [],
                        createdAt: now, updatedAt: now, contentHash: "")
                })
            var contents: [Int64: String] = [:]
            for row in try store.database.query("SELECT rowid, id FROM memories") {
                let number = String((row[1].stringValue ?? "").dropFirst())
                contents[row[0].int64Value ?? 0] = "beacon\(number) meadow\(number)"
            }
            try Self.writeLegacyVectors(store, contents: contents)
        }
        let writer = try MemoryDurabilityTests.writerPath()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<30 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: writer)
            process.arguments = [directory.path, "open"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 5_000...400_000, using: &generator))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try SQLiteDatabase(path: directory.databasePath).integrityCheck()
        let store = try openStore(directory)
        let dimensions = store.embedder.dimensions
        let lengths = try Self.storedLengths(store)
        #expect(lengths.count == count)
        #expect(lengths.allSatisfy { $0 == dimensions + 4 })
        for number in [0, count / 3, count - 1] {
            let hits = try store.search(
                MemorySearchRequest(namespace: "n", query: "beacon\(number) meadow\(number)", limit: 1), mode: .vector)
            #expect(hits.hits.first?.memory.id == "m\(number)")
        }
    }

    @Test("vectors are stored as int8 with a scale; F32 vectors of an older store are converted at open, resumably")
    func legacyVectorsConverted() throws {
        let directory = try TemporaryDirectory()
        let count = MemoryStore.vectorConversionBatch + 300
        var contents: [Int64: String] = [:]
        do {
            let store = try openStore(directory)
            var records: [MemoryRecord] = []
            for number in 0..<count {
                let now = Date()
                records.append(
                    MemoryRecord(
                        id: "m\(number)", namespace: "n", kind: .document,
                        content: "lantern\(number) harbour\(number) gravel\(number)", tags: [], createdAt: now,
                        updatedAt: now, contentHash: ""))
            }
            _ = try store.importRecords(records)
            let dimensions = store.embedder.dimensions
            #expect(try Self.storedLengths(store).allSatisfy { $0 == dimensions + 4 })
            for row in try store.database.query("SELECT rowid, id FROM memories") {
                let number = Int(String((row[1].stringValue ?? "").dropFirst())) ?? -1
                contents[row[0].int64Value ?? 0] = records[number].content
            }
            // Every vector F32, as a store before the int8 format wrote them.
            try Self.writeLegacyVectors(store, contents: contents)
            #expect(try Self.storedLengths(store).allSatisfy { $0 == dimensions * 4 })
        }
        do {
            // A conversion interrupted after its first batch: that batch int8, the rest still F32.
            let store = try openStore(directory)
            let dimensions = store.embedder.dimensions
            #expect(try Self.storedLengths(store).allSatisfy { $0 == dimensions + 4 })
            let later = contents.filter { $0.key > contents.keys.sorted()[MemoryStore.vectorConversionBatch - 1] }
            try Self.writeLegacyVectors(store, contents: later)
            let lengths = try Self.storedLengths(store)
            #expect(lengths.prefix(MemoryStore.vectorConversionBatch).allSatisfy { $0 == dimensions + 4 })
            #expect(lengths.dropFirst(MemoryStore.vectorConversionBatch).allSatisfy { $0 == dimensions * 4 })
        }
        let store = try openStore(directory)
        let dimensions = store.embedder.dimensions
        #expect(try Self.storedLengths(store).allSatisfy { $0 == dimensions + 4 })
        #expect(
            try store.database.query("SELECT value FROM memory_meta WHERE name = 'vector_format'").first?[0]
                .stringValue == "int8")
        for number in [0, 1, count / 2, count - 1] {
            let hits = try store.search(
                MemorySearchRequest(namespace: "n", query: "lantern\(number) harbour\(number)", limit: 1),
                mode: .vector)
            #expect(hits.hits.first?.memory.id == "m\(number)")
        }
    }
}

import AgentAPI
import Crypto
import Foundation
import Memory
import Testing

/// The hand-written retrieval set in `Data/memory-eval.json` (made by `Data/make_eval.py`).
struct MemoryEvalSet: Decodable {
    struct Memory: Decodable {
        var id: String
        var kind: MemoryKind
        var content: String
    }

    struct Query: Decodable {
        var query: String
        var type: String
        var relevant: [String]
    }

    var memories: [Memory]
    var queries: [Query]

    /// Whether a query belongs to the tuning half (its SHA-1 ends in an even byte); the others are held out.
    static func isTuning(_ query: String) -> Bool {
        (Insecure.SHA1.hash(data: Data(query.utf8)).reversed().first ?? 1) % 2 == 0
    }

    static func load() throws -> MemoryEvalSet {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Data/memory-eval.json")
        return try JSONDecoder().decode(MemoryEvalSet.self, from: Data(contentsOf: url))
    }

    /// Recall@5 per mode: the share of queries with a relevant memory among the first five hits.
    func recall(store: MemoryStore, namespace: String) throws -> [MemorySearchMode: Double] {
        var storeIDs: [String: String] = [:]
        for memory in memories {
            let response = try store.add(
                MemoryCreateRequest(namespace: namespace, kind: memory.kind, content: memory.content))
            storeIDs[response.memory.id] = memory.id
        }
        var result: [MemorySearchMode: Double] = [:]
        for mode in MemorySearchMode.allCases {
            var found = 0
            for query in queries {
                let hits = try store.search(
                    MemorySearchRequest(namespace: namespace, query: query.query, limit: 5), mode: mode)
                if hits.hits.contains(where: { query.relevant.contains(storeIDs[$0.memory.id] ?? "") }) {
                    found += 1
                }
            }
            result[mode] = Double(found) / Double(queries.count)
        }
        return result
    }
}

@Suite("Memory retrieval quality")
struct MemoryRecallTests {
    @Test("the eval set has at least 100 queries of every type")
    func evalSetShape() throws {
        let set = try MemoryEvalSet.load()
        #expect(set.queries.count >= 100)
        #expect(Set(set.queries.map(\.type)) == ["keyword", "paraphrase", "name", "error"])
        let ids = Set(set.memories.map(\.id))
        #expect(set.queries.allSatisfy { $0.relevant.allSatisfy(ids.contains) })
    }

    @Test("hybrid recall@5 beats BM25 alone and vectors alone with the hashed embedder")
    func hybridBeatsEach() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let recall = try MemoryEvalSet.load().recall(store: store, namespace: "eval")
        let hybrid = recall[.hybrid] ?? 0
        let bm25 = recall[.bm25] ?? 0
        let vector = recall[.vector] ?? 0
        print("memory recall@5 (hashed-ngram): bm25 \(bm25), vector \(vector), hybrid \(hybrid)")
        #expect(hybrid > bm25)
        #expect(hybrid > vector)
        #expect(hybrid > 0.7)
    }
}

extension MemoryRecallTests {
    @Test("with the transformer, the shipped fusion keeps the model's recall@5 on the held-out half and beats BM25")
    func fusionWithTransformer() throws {
        let modelDirectory = try MemoryModelFixture.require()
        let directory = try TemporaryDirectory()
        let store = try MemoryStore(
            dataDirectory: directory.path, modelDirectory: modelDirectory, logger: quietLogger())
        var set = try MemoryEvalSet.load()
        set.queries = set.queries.filter { !MemoryEvalSet.isTuning($0.query) }
        #expect(set.queries.count == 67)
        let recall = try set.recall(store: store, namespace: "eval")
        let hybrid = recall[.hybrid] ?? 0
        print(
            "memory recall@5 held-out half (\(store.embedderName)): bm25 \(recall[.bm25] ?? 0), "
                + "vector \(recall[.vector] ?? 0), hybrid \(hybrid)")
        #expect(hybrid >= 0.95)
        #expect(hybrid > recall[.bm25] ?? 1)
        #expect(hybrid >= recall[.vector] ?? 1)
    }
}

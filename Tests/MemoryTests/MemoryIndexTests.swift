import AgentAPI
import Foundation
import Memory
import Testing

@Suite("Memory in-memory vector index and search path")
struct MemoryIndexTests {
    @Test("after deletes, updates and a reopen, vector search finds exactly the live memories")
    func indexFollowsChanges() throws {
        let directory = try TemporaryDirectory()
        var ids: [Int: String] = [:]
        do {
            let store = try openStore(directory)
            for number in 0..<40 {
                let response = try store.add(
                    MemoryCreateRequest(
                        namespace: "n", content: "topic\(number) zebra\(number) note about thing \(number)"))
                ids[number] = response.memory.id
            }
            // Deleting from the middle moves the last vector into the hole.
            for number in [0, 7, 20, 39] {
                try store.delete(id: try #require(ids[number]), namespace: "n")
            }
            _ = try store.update(
                id: try #require(ids[10]), namespace: "n",
                MemoryUpdateRequest(content: "quokka marmalade expedition"))
            for number in [1, 38, 25] {
                let hits = try store.search(
                    MemorySearchRequest(namespace: "n", query: "topic\(number) zebra\(number)", limit: 1), mode: .vector
                )
                #expect(hits.hits.first?.memory.id == ids[number])
            }
            let updated = try store.search(
                MemorySearchRequest(namespace: "n", query: "quokka marmalade", limit: 1), mode: .vector)
            #expect(updated.hits.first?.memory.id == ids[10])
            let deleted = try store.search(
                MemorySearchRequest(namespace: "n", query: "topic7 zebra7", limit: 40), mode: .vector)
            #expect(!deleted.hits.contains { $0.memory.id == ids[7] })
            // 36 live memories; the updated one shares no feature with the query (cosine 0 is not a hit).
            #expect(deleted.hits.count == 35)
        }
        let reopened = try openStore(directory)
        let hits = try reopened.search(
            MemorySearchRequest(namespace: "n", query: "topic38 zebra38", limit: 1), mode: .vector)
        #expect(hits.hits.first?.memory.id == ids[38])
        #expect((hits.hits.first?.vectorSimilarity ?? 0) > 0.5)
    }

    @Test("BM25 candidates are filtered by namespace, kind and tags without reading other namespaces")
    func fullTextFilters() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let wanted = try store.add(
            MemoryCreateRequest(namespace: "a", kind: .errorFix, content: "pelican fix for the build", tags: ["ci"]))
        _ = try store.add(MemoryCreateRequest(namespace: "a", kind: .document, content: "pelican document"))
        _ = try store.add(MemoryCreateRequest(namespace: "b", kind: .errorFix, content: "pelican fix elsewhere"))
        let hits = try store.search(
            MemorySearchRequest(namespace: "a", query: "pelican", kinds: [.errorFix], tags: ["ci"]), mode: .bm25)
        #expect(hits.hits.map(\.memory.id) == [wanted.memory.id])
        #expect(hits.hits.first?.bm25Rank == 1)
        let none = try store.search(MemorySearchRequest(namespace: "c", query: "pelican"), mode: .bm25)
        #expect(none.hits.isEmpty)
    }

    @Test("BM25 follows updates, deletes, rotate-key and a reopen")
    func fullTextFollowsChanges() throws {
        let directory = try TemporaryDirectory()
        func ids(_ store: MemoryStore, _ query: String) throws -> [String] {
            try store.search(MemorySearchRequest(namespace: "n", query: query), mode: .bm25).hits.map(\.memory.id)
        }
        let id: String
        do {
            let store = try openStore(directory)
            id = try store.add(MemoryCreateRequest(namespace: "n", content: "pelican pelican harbour")).memory.id
            _ = try store.add(MemoryCreateRequest(namespace: "n", content: "harbour master"))
            #expect(try ids(store, "pelican") == [id])
            _ = try store.update(id: id, namespace: "n", MemoryUpdateRequest(content: "albatross colony"))
            #expect(try ids(store, "pelican").isEmpty)
            #expect(try ids(store, "albatross") == [id])
            #expect(try ids(store, "harbour").count == 1)
            _ = try store.rotateKey()
            #expect(try ids(store, "albatross") == [id])
        }
        let store = try openStore(directory)
        #expect(try ids(store, "albatross colony") == [id])
        try store.delete(id: id, namespace: "n")
        #expect(try ids(store, "albatross").isEmpty)
    }

    @Test("a query sharing no feature with any memory finds nothing by vector")
    func noSharedFeature() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        _ = try store.add(MemoryCreateRequest(namespace: "n", content: "alpha beta"))
        let hits = try store.search(MemorySearchRequest(namespace: "n", query: "!!!"), mode: .vector)
        #expect(hits.hits.isEmpty)
    }
}

@Suite("Memory model files")
struct MemoryModelFileTests {
    @Test("a Unigram (SentencePiece) vocabulary list is read, ids by position")
    func unigramVocabulary() throws {
        let directory = try TemporaryDirectory()
        let modelDirectory = directory.path + "/unigram"
        try writeTinyModel(to: modelDirectory, vocabulary: ["<unk>"], rows: [[0, 0]])
        // Replace the tokenizer by a Unigram one: [[piece, score], …] with a metaspace prefix.
        let tokenizer = """
            {"model": {"type": "Unigram", "unk_id": 0,
              "vocab": [["<unk>", 0.0], ["▁", -1.0], ["▁coffee", -2.0], ["▁tabs", -2.5]]},
             "normalizer": null}
            """
        try Data(tokenizer.utf8).write(to: URL(fileURLWithPath: modelDirectory + "/tokenizer.json"))
        try writeTinyModel(
            to: directory.path + "/table", vocabulary: ["a", "b", "c", "d"], rows: [[0, 0], [0, 0], [1, 0], [0, 1]])
        try FileManager.default.removeItem(atPath: modelDirectory + "/model.safetensors")
        try FileManager.default.copyItem(
            atPath: directory.path + "/table/model.safetensors", toPath: modelDirectory + "/model.safetensors")
        let store = try MemoryStore(
            dataDirectory: directory.path + "/data", modelDirectory: modelDirectory, logger: quietLogger())
        #expect(store.embedderName == "model2vec:unigram")
        let coffee = try store.add(MemoryCreateRequest(namespace: "m", content: "coffee"))
        _ = try store.add(MemoryCreateRequest(namespace: "m", content: "tabs"))
        let hits = try store.search(MemorySearchRequest(namespace: "m", query: "coffee!", limit: 1), mode: .vector)
        #expect(hits.hits.first?.memory.id == coffee.memory.id)
    }

    @Test("a safetensors header that is not an object of tensors is invalid input naming it")
    func badSafetensorsHeader() throws {
        let directory = try TemporaryDirectory()
        let modelDirectory = directory.path + "/bad"
        try writeTinyModel(to: modelDirectory, vocabulary: ["[UNK]", "x"], rows: [[0, 1], [1, 0]])
        for (header, expected) in [
            ("[1, 2, 3]", "header is not a JSON object of tensors"),
            ("{\"embeddings\": {\"dtype\": \"F32\", \"shape\": [2, 2]}}", "describes tensor embeddings badly"),
        ] {
            var file: [UInt8] = []
            withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { file.append(contentsOf: $0) }
            file += Array(header.utf8) + [UInt8](repeating: 0, count: 16)
            try Data(file).write(to: URL(fileURLWithPath: modelDirectory + "/model.safetensors"))
            let error = try #require(throws: MemoryError.self) {
                try MemoryStore(
                    dataDirectory: directory.path + "/data", modelDirectory: modelDirectory, logger: quietLogger())
            }
            #expect(error.code == .invalidInput)
            #expect(error.message.contains(expected))
        }
    }
}

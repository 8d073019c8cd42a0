import AgentAPI
import Foundation
import Memory
import Testing

/// Writes a tiny Model2Vec-style model (WordPiece vocabulary, F32 table) into `directory`.
func writeTinyModel(to directory: String, vocabulary: [String], rows: [[Float]]) throws {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var vocab: [String: Int] = [:]
    for (id, token) in vocabulary.enumerated() { vocab[token] = id }
    let tokenizer: [String: Any] = [
        "model": ["type": "WordPiece", "unk_token": "[UNK]", "vocab": vocab],
        "normalizer": ["lowercase": true],
    ]
    try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: directory + "/tokenizer.json"))
    let dimensions = rows.first?.count ?? 0
    var data: [UInt8] = []
    for row in rows {
        for value in row {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
        }
    }
    let header: [String: Any] = [
        "embeddings": ["dtype": "F32", "shape": [rows.count, dimensions], "data_offsets": [0, data.count]]
    ]
    var headerBytes = Array(try JSONSerialization.data(withJSONObject: header))
    while headerBytes.count % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
    var file: [UInt8] = []
    withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { file.append(contentsOf: $0) }
    file += headerBytes + data
    FileManager.default.createFile(atPath: directory + "/model.safetensors", contents: Data(file))
}

@Suite("Memory embedders")
struct MemoryEmbedderTests {
    @Test("a static model directory is loaded and its vectors match paraphrases")
    func staticModel() throws {
        let directory = try TemporaryDirectory()
        let modelDirectory = directory.path + "/tiny-model"
        // Two topics: "indent/spaces/tabs/indentation" share a direction, "coffee/milk/drink" another.
        try writeTinyModel(
            to: modelDirectory,
            vocabulary: ["[UNK]", "indent", "##ation", "spaces", "tabs", "coffee", "milk", "drink", "user", "want"],
            rows: [
                [0, 0, 0, 0], [1, 0, 0, 0], [0.9, 0.1, 0, 0], [0.8, 0.2, 0, 0], [0.85, 0.15, 0, 0],
                [0, 0, 1, 0], [0, 0, 0.9, 0.1], [0, 0, 0.8, 0.2], [0, 0.1, 0, 0.1], [0, 0.1, 0.1, 0],
            ])
        let store = try MemoryStore(
            dataDirectory: directory.path + "/data", modelDirectory: modelDirectory, logger: quietLogger())
        #expect(store.embedderName == "model2vec:tiny-model")
        let spaces = try store.add(MemoryCreateRequest(namespace: "m", content: "always use spaces, not tabs"))
        _ = try store.add(MemoryCreateRequest(namespace: "m", content: "oat milk coffee drink"))
        let hits = try store.search(
            MemorySearchRequest(namespace: "m", query: "what indentation does the user want"), mode: .vector)
        #expect(hits.embedder == "model2vec:tiny-model")
        #expect(hits.hits.first?.memory.id == spaces.memory.id)
    }

    @Test("a broken model file is invalid input naming the problem")
    func brokenModel() throws {
        let directory = try TemporaryDirectory()
        let modelDirectory = directory.path + "/broken"
        try FileManager.default.createDirectory(atPath: modelDirectory, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: modelDirectory + "/tokenizer.json", contents: Data("{}".utf8))
        FileManager.default.createFile(atPath: modelDirectory + "/model.safetensors", contents: Data([1, 2]))
        let error = try #require(throws: MemoryError.self) {
            try MemoryStore(
                dataDirectory: directory.path + "/data", modelDirectory: modelDirectory, logger: quietLogger())
        }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("tokenizer.json"))
    }

    @Test("without model files the hashed n-gram embedder is used, and reopening with a model re-embeds")
    func fallbackAndSwitch() throws {
        let directory = try TemporaryDirectory()
        let data = directory.path + "/data"
        do {
            let store = try MemoryStore(
                dataDirectory: data, modelDirectory: directory.path + "/absent", logger: quietLogger())
            #expect(store.embedderName == "hashed-ngram")
            _ = try store.add(MemoryCreateRequest(namespace: "m", content: "indent with spaces"))
        }
        let modelDirectory = directory.path + "/tiny"
        try writeTinyModel(
            to: modelDirectory, vocabulary: ["[UNK]", "indent", "spaces"], rows: [[0, 0], [1, 0], [0.9, 0.1]])
        let store = try MemoryStore(dataDirectory: data, modelDirectory: modelDirectory, logger: quietLogger())
        // Until it is re-embedded the memory is found by BM25 only.
        #expect(store.isReembedding)
        #expect(try store.search(MemorySearchRequest(namespace: "m", query: "indent"), mode: .bm25).hits.count == 1)
        #expect(try store.search(MemorySearchRequest(namespace: "m", query: "indent"), mode: .vector).hits.isEmpty)
        #expect(try store.reembedNextBatch() == 1)
        #expect(!store.isReembedding)
        let hits = try store.search(MemorySearchRequest(namespace: "m", query: "indent"), mode: .vector)
        #expect(hits.hits.count == 1)
        #expect((hits.hits.first?.vectorSimilarity ?? 0) > 0.9)
    }

    @Test("re-embedding stopped half way resumes at the next open and loses nothing")
    func reembeddingResumes() throws {
        let directory = try TemporaryDirectory()
        let data = directory.path + "/data"
        let contents = (0..<40).map { "indent spaces in project \($0 * 7919) owned by team \($0 * 104_729)" }
        do {
            let store = try MemoryStore(dataDirectory: data, logger: quietLogger())
            for content in contents {
                _ = try store.add(MemoryCreateRequest(namespace: "m", content: content))
            }
            #expect(!store.isReembedding)
        }
        let modelDirectory = directory.path + "/tiny"
        try writeTinyModel(
            to: modelDirectory, vocabulary: ["[UNK]", "indent", "spaces"], rows: [[0, 0], [1, 0], [0.9, 0.1]])
        func vectorHits(_ store: MemoryStore) throws -> Int {
            try store.search(MemorySearchRequest(namespace: "m", query: "indent", limit: 100), mode: .vector).hits
                .count
        }
        do {
            let store = try MemoryStore(dataDirectory: data, modelDirectory: modelDirectory, logger: quietLogger())
            #expect(store.isReembedding)
            #expect(try store.reembedNextBatch(size: 16) == 16)
            #expect(try vectorHits(store) == 16)
            // The store is dropped here, between two batches, as a killed agent would leave it: each batch is one
            // transaction with its cursor.
        }
        let store = try MemoryStore(dataDirectory: data, modelDirectory: modelDirectory, logger: quietLogger())
        #expect(store.isReembedding)
        #expect(try vectorHits(store) == 16)
        #expect(
            try store.search(MemorySearchRequest(namespace: "m", query: "indent", limit: 100), mode: .bm25).hits
                .count == 40)
        var batches = 0
        while store.isReembedding {
            try store.reembedNextBatch(size: 16)
            batches += 1
        }
        #expect(batches == 2)
        #expect(try vectorHits(store) == 40)
        let reopened = try MemoryStore(dataDirectory: data, modelDirectory: modelDirectory, logger: quietLogger())
        #expect(!reopened.isReembedding)
        #expect(try vectorHits(reopened) == 40)
        let found = try reopened.search(
            MemorySearchRequest(namespace: "m", query: "indent", limit: 100), mode: .bm25
        ).hits.map(\.memory.content)
        #expect(Set(found) == Set(contents))
    }
}

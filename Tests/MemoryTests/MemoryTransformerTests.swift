import AgentAPI
import Foundation
import Testing

@testable import Memory

/// The transformer model for the tests, converted by `provisioning/fetch-memory-model.sh` exactly as the image bakes
/// it: the directory named by `SOMNUS_MEMORY_MODEL_DIR` when set, otherwise fetched once per test process into a
/// temporary directory (network access to PyPI). Without either the model tests are cancelled with the reason.
enum MemoryModelFixture {
    static let directory: Result<String, FixtureError> = locate()

    struct FixtureError: Error, CustomStringConvertible {
        var description: String
    }

    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The model directory, or the test is cancelled saying why there is none.
    static func require() throws -> String {
        switch directory {
        case .success(let path): return path
        case .failure(let error): try Test.cancel("MODEL TESTS NOT RUN: \(error)")
        }
    }

    private static func locate() -> Result<String, FixtureError> {
        if let given = ProcessInfo.processInfo.environment["SOMNUS_MEMORY_MODEL_DIR"] {
            return FileManager.default.fileExists(atPath: given + "/" + TransformerEmbedder.weightsFile)
                ? .success(given)
                : .failure(FixtureError(description: "SOMNUS_MEMORY_MODEL_DIR=\(given) holds no model"))
        }
        let target = FileManager.default.temporaryDirectory.appendingPathComponent(
            "memory-tests-model-\(UUID().uuidString)"
        ).path
        modelTemporaryDirectory = strdup(target)
        atexit {
            if let path = modelTemporaryDirectory {
                try? FileManager.default.removeItem(atPath: String(cString: path))
            }
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [repositoryRoot.appendingPathComponent("provisioning/fetch-memory-model.sh").path, target]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return .failure(FixtureError(description: "cannot run fetch-memory-model.sh: \(error)"))
        }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(
                FixtureError(description: "fetch-memory-model.sh failed (\(process.terminationStatus)): \(message)"))
        }
        return .success(target)
    }

    static func reference<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "Reference/" + name)
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }
}

/// The fetched model's temporary directory, removed at process exit.
nonisolated(unsafe) private var modelTemporaryDirectory: UnsafeMutablePointer<CChar>?

/// `Reference/tokens.json`.
struct TokenReference: Decodable {
    struct Case: Decodable {
        var text: String
        var ids: [Int32]
    }

    var maxTokens: Int
    var cases: [Case]

    enum CodingKeys: String, CodingKey {
        case maxTokens = "max_tokens"
        case cases
    }
}

/// `Reference/embeddings.json`.
struct EmbeddingReference: Decodable {
    struct Case: Decodable {
        var text: String
        var vector: [Float]
    }

    var cases: [Case]
}

@Suite("Transformer embedder (all-MiniLM-L6-v2 from fetch-memory-model.sh)", .serialized)
struct MemoryTransformerTests {
    static func embedder() throws -> TransformerEmbedder {
        let directory = try MemoryModelFixture.require()
        return try #require(try TransformerEmbedder.load(directory: directory))
    }

    @Test("WordPiece ids equal the tokenizers package's on 260 varied strings")
    func tokenIDs() throws {
        let embedder = try Self.embedder()
        let reference = try MemoryModelFixture.reference("tokens.json", as: TokenReference.self)
        #expect(reference.cases.count >= 200)
        #expect(embedder.maxTokens == reference.maxTokens)
        for item in reference.cases {
            let ids = embedder.tokenizer.encode(item.text, maxTokens: reference.maxTokens)
            #expect(ids == item.ids, "text: \(item.text.debugDescription)")
        }
    }

    @Test("embeddings are within cosine 0.995 of a numpy fp32 forward pass on 50 strings")
    func embeddings() throws {
        let embedder = try Self.embedder()
        let reference = try MemoryModelFixture.reference("embeddings.json", as: EmbeddingReference.self)
        #expect(reference.cases.count == 50)
        var worst: Float = 1
        for item in reference.cases {
            let vector = embedder.embed(item.text)
            #expect(vector.count == item.vector.count)
            let cosine = zip(vector, item.vector).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            worst = min(worst, cosine)
            #expect(cosine >= 0.995, "text: \(item.text.debugDescription), cosine \(cosine)")
        }
        print("transformer embedder: worst cosine to the fp32 reference \(worst)")
    }

    @Test("the store picks the transformer from the model directory and finds a paraphrased memory")
    func storeUsesTransformer() throws {
        let modelDirectory = try MemoryModelFixture.require()
        let directory = try TemporaryDirectory()
        let store = try MemoryStore(
            dataDirectory: directory.path + "/data", modelDirectory: modelDirectory, logger: quietLogger())
        #expect(store.embedderName.hasPrefix("minilm:"))
        for content in [
            "The build was killed by the kernel OOM killer; adding 4 GB of swap fixed it.",
            "The user's favourite editor is Neovim with the gruvbox theme.",
            "Deploys go out every Tuesday after the standup.",
        ] {
            _ = try store.add(MemoryCreateRequest(namespace: "n", kind: .document, content: content))
        }
        let hits = try store.search(
            MemorySearchRequest(namespace: "n", query: "compilation dies because RAM is exhausted", limit: 1),
            mode: .vector)
        #expect(hits.hits.first?.memory.content.contains("OOM killer") == true)
    }

    @Test("a model directory with bad files names the problem")
    func badFiles() throws {
        let modelDirectory = try MemoryModelFixture.require()
        let vocabulary = try #require(FileManager.default.contents(atPath: modelDirectory + "/vocab.txt"))
        let weights = try #require(
            FileManager.default.contents(atPath: modelDirectory + "/" + TransformerEmbedder.weightsFile))
        #expect(throws: MemoryError.invalidInput("vocab.txt has no [UNK] token")) {
            _ = try TransformerEmbedder(
                name: "t", vocabulary: Array("[CLS]\n[SEP]\n".utf8), safetensors: Array(weights))
        }
        let truncated = Array(vocabulary.prefix(2_000))
        #expect(throws: MemoryError.self) {
            _ = try TransformerEmbedder(name: "t", vocabulary: truncated, safetensors: Array(weights))
        }
        var foreign = Array(weights)
        if let range = foreign.firstRange(of: Array("somnus-minilm-int8/1".utf8)) {
            foreign.replaceSubrange(range, with: Array("somnus-minilm-int8/9".utf8))
        }
        #expect(
            throws: MemoryError.invalidInput(
                "encoder.safetensors has format somnus-minilm-int8/9, expected somnus-minilm-int8/1")
        ) {
            _ = try TransformerEmbedder(name: "t", vocabulary: Array(vocabulary), safetensors: foreign)
        }
    }
}

@Suite("Model directory files the agent cannot map")
struct MemoryModelMappingTests {
    @Test("an empty or unmappable encoder.safetensors is refused naming the file")
    func unmappableWeights() throws {
        let directory = try TemporaryDirectory()
        let weightsPath = directory.path + "/" + TransformerEmbedder.weightsFile
        #expect(
            FileManager.default.createFile(
                atPath: directory.path + "/" + TransformerEmbedder.vocabularyFile, contents: Data("[UNK]\n".utf8)))
        #expect(FileManager.default.createFile(atPath: weightsPath, contents: Data()))
        #expect(
            throws: MemoryError.invalidInput("cannot map the embedding model file \(weightsPath): it is empty")
        ) {
            _ = try TransformerEmbedder.load(directory: directory.path)
        }
        try FileManager.default.removeItem(atPath: weightsPath)
        try FileManager.default.createDirectory(atPath: weightsPath, withIntermediateDirectories: false)
        do {
            _ = try TransformerEmbedder.load(directory: directory.path)
            Issue.record("a directory in place of the weights file was accepted")
        } catch {
            #expect(error.description.hasPrefix("invalidInput: cannot map the embedding model file \(weightsPath): "))
        }
    }
}

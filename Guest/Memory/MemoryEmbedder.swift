import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Turns text into a unit-length vector; deterministic for a given embedder.
protocol MemoryEmbedder: Sendable {
    /// `hashed-ngram` or `model2vec:<name>`; stored so a change of embedder re-embeds everything.
    var name: String { get }
    /// Vector length.
    var dimensions: Int { get }
    /// The L2-normalized embedding (all zeros when the text has no features).
    func embed(_ text: String) -> [Float]
    /// Stored with the vectors; when it changes, every memory is embedded again at open.
    var signature: String { get }
    /// Weight of the BM25 list in hybrid search; the vector list weighs 1.
    var bm25Weight: Double { get }
}

extension MemoryEmbedder {
    var signature: String {
        "\(name)/\(dimensions)"
    }

    /// Both lists weigh the same (plain RRF), as chosen for the hashed and static embedders.
    var bm25Weight: Double { 1 }

    static func normalized(_ vector: inout [Float]) {
        var sum: Float = 0
        for value in vector {
            sum += value * value
        }
        guard sum > 0 else {
            return
        }
        let scale = 1 / sum.squareRoot()
        for index in vector.indices {
            vector[index] *= scale
        }
    }
}

/// Hashed word, word-pair and character-4-gram features folded into a fixed vector (feature hashing with a
/// sign bit). Always available, no data files, and the same text always gives the same vector.
///
/// The 4-grams (of each stemmed term padded with `<` `>`, weight 0.6) were chosen over trigrams on half of the
/// recall set (`Tests/MemoryTests/Data/memory-eval.json`); on the other half hybrid recall@5 then beats both
/// lists alone (see the module README).
struct HashedNgramEmbedder: MemoryEmbedder {
    let name = "hashed-ngram"
    let dimensions: Int
    /// Version 2: character 4-grams instead of trigrams.
    var signature: String {
        "\(name)/\(dimensions)/v2"
    }

    init(dimensions: Int = 256) {
        self.dimensions = dimensions
    }

    func embed(_ text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimensions)
        let terms = MemoryText.terms(text)
        func add(_ feature: String, _ weight: Float) {
            let hash = Self.fnv1a(feature)
            let index = Int(hash % UInt64(dimensions))
            vector[index] += (hash >> 63) == 0 ? weight : -weight
        }
        for (position, term) in terms.enumerated() {
            add("w:" + term, 1.0)
            if position + 1 < terms.count {
                add("b:" + term + " " + terms[position + 1], 0.5)
            }
            let padded = Array("<" + term + ">")
            if padded.count >= 4 {
                for start in 0...(padded.count - 4) {
                    add("c4:" + String(padded[start..<(start + 4)]), 0.6)
                }
            }
        }
        Self.normalized(&vector)
        return vector
    }

    /// 64-bit FNV-1a over the UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 {
        fnv1a(bytes: text.utf8)
    }

    /// 64-bit FNV-1a over `bytes`.
    static func fnv1a(bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}

/// A static embedding model in the Model2Vec layout: `tokenizer.json` (a WordPiece or Unigram vocabulary) and
/// `model.safetensors` (one `[vocabulary, dimensions]` table of F32, F16 or I8 values, an optional `weights`
/// vector of per-token weights). A text's vector is the weighted mean of its tokens' rows, normalized.
struct StaticModelEmbedder: MemoryEmbedder {
    let name: String
    let dimensions: Int
    private let vocabulary: MemoryVocabulary
    private let table: [Float]
    private let weights: [Float]?
    private let mapping: [Int32]?
    private let unknownID: Int?
    private let lowercase: Bool
    private let metaspace: Bool

    /// Loads a model directory; `nil` when the two files are not both there.
    static func load(directory: String) throws(MemoryError) -> StaticModelEmbedder? {
        let tokenizerPath = directory + "/tokenizer.json"
        let modelPath = directory + "/model.safetensors"
        guard FileManager.default.fileExists(atPath: tokenizerPath),
            FileManager.default.fileExists(atPath: modelPath)
        else {
            return nil
        }
        let base = directory.split(separator: "/").last.map(String.init) ?? directory
        // Read one file at a time so that the tokenizer's bytes are released before the table is read.
        let summary = try TokenizerScanner.scan(try readFile(tokenizerPath))
        let model = try StaticModelEmbedder(
            name: "model2vec:" + base, tokenizer: summary, safetensors: try readFile(modelPath))
        return model
    }

    /// The whole file's bytes, read straight into one array.
    /// - Throws: ``MemoryError`` `invalidInput` naming the path and the `errno` text.
    static func readFile(_ path: String) throws(MemoryError) -> [UInt8] {
        let (descriptor, size) = try openModelFile(path)
        defer { close(descriptor) }
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                read(descriptor, buffer.baseAddress.map { $0 + filled }, buffer.count - filled)
            }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                throw MemoryError.invalidInput("cannot read the embedding model file \(path): short read at \(filled)")
            }
            filled += count
        }
        return bytes
    }

    /// Opens a model file for reading and tells its size.
    /// - Returns: The descriptor (the caller closes it) and the file's size in bytes.
    /// - Throws: ``MemoryError`` `invalidInput` naming the path and the `errno` text.
    static func openModelFile(_ path: String) throws(MemoryError) -> (descriptor: Int32, size: Int) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw MemoryError.invalidInput(
                "cannot read the embedding model file \(path): \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw MemoryError.invalidInput("cannot stat the embedding model file \(path): \(reason)")
        }
        return (descriptor, Int(status.st_size))
    }

    /// Builds the embedder from a whole `tokenizer.json` and `model.safetensors` (tests and benchmarks).
    init(name: String, tokenizerJSON: [UInt8], safetensors: [UInt8]) throws(MemoryError) {
        try self.init(name: name, tokenizer: try TokenizerScanner.scan(tokenizerJSON), safetensors: safetensors)
    }

    init(name: String, tokenizer: TokenizerSummary, safetensors: [UInt8]) throws(MemoryError) {
        self.name = name
        let vocabulary = tokenizer.vocabulary
        guard vocabulary.count > 0 else {
            throw MemoryError.invalidInput("tokenizer.json has an empty vocabulary")
        }
        self.vocabulary = vocabulary
        self.unknownID = vocabulary.id(tokenizer.unknownToken ?? "[UNK]") ?? tokenizer.unknownID
        self.metaspace = vocabulary.id("▁") != nil
        self.lowercase = tokenizer.lowercase ?? !metaspace

        let tensors = try SafetensorsFile(bytes: safetensors)
        guard
            let embeddings = tensors.tensors["embeddings"]
                ?? tensors.tensors.values.first(where: { $0.shape.count == 2 })
        else {
            throw MemoryError.invalidInput("model.safetensors has no two-dimensional embedding table")
        }
        self.dimensions = embeddings.shape[1]
        self.table = try tensors.floats(embeddings)
        if let weightTensor = tensors.tensors["weights"], weightTensor.shape.count == 1 {
            self.weights = try tensors.floats(weightTensor)
        } else {
            self.weights = nil
        }
        if let mappingTensor = tensors.tensors["mapping"], mappingTensor.shape.count == 1 {
            self.mapping = try tensors.integers(mappingTensor).map { Int32(clamping: $0) }
        } else {
            self.mapping = nil
        }
        guard dimensions > 0, table.count == embeddings.shape[0] * dimensions else {
            throw MemoryError.invalidInput("model.safetensors embedding table has an inconsistent shape")
        }
    }

    func embed(_ text: String) -> [Float] {
        var vector = [Float](repeating: 0, count: dimensions)
        let rows = table.count / dimensions
        var total: Float = 0
        for id in tokenIDs(text) where id >= 0 && id != unknownID {
            let row = mapping.flatMap { id < $0.count ? Int($0[id]) : nil } ?? id
            guard row >= 0 && row < rows else {
                continue
            }
            let weight = weights.flatMap { id < $0.count ? $0[id] : nil } ?? 1
            let offset = row * dimensions
            for index in 0..<dimensions {
                vector[index] += weight * table[offset + index]
            }
            total += weight
        }
        if total > 0 {
            for index in 0..<dimensions {
                vector[index] /= total
            }
        }
        Self.normalized(&vector)
        return vector
    }

    /// Pre-tokenizes on whitespace and punctuation, then splits each word greedily into the longest vocabulary
    /// pieces (WordPiece `##` continuations, or SentencePiece `▁` word starts).
    func tokenIDs(_ text: String) -> [Int] {
        let source = lowercase ? text.lowercased() : text
        var pieces: [String] = []
        var current = ""
        for character in source {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else {
                if !current.isEmpty { pieces.append(current) }
                current = ""
                if !character.isWhitespace { pieces.append(String(character)) }
            }
        }
        if !current.isEmpty { pieces.append(current) }
        var ids: [Int] = []
        // Lookups go through one scratch buffer of UTF-8 bytes (prefix + piece), never a new String per candidate.
        let wordStart: [UInt8] = metaspace ? Array("▁".utf8) : []
        let continuation: [UInt8] = metaspace ? [] : Array("##".utf8)
        var scratch: [UInt8] = []
        func lookup(_ prefix: [UInt8], _ piece: ArraySlice<UInt8>) -> Int? {
            guard !prefix.isEmpty else { return vocabulary.id(piece) }
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: prefix)
            scratch.append(contentsOf: piece)
            return vocabulary.id(scratch)
        }
        for word in pieces {
            let bytes = Array(word.utf8)
            let whole = bytes[...]
            if let id = metaspace ? lookup(wordStart, whole) ?? vocabulary.id(whole) : vocabulary.id(whole) {
                ids.append(id)
                continue
            }
            // Byte offsets of the characters' starts, and the end.
            var boundaries: [Int] = []
            boundaries.reserveCapacity(bytes.count + 1)
            var offset = 0
            for character in word {
                boundaries.append(offset)
                offset += character.utf8.count
            }
            boundaries.append(offset)
            let characterCount = boundaries.count - 1
            var start = 0
            while start < characterCount {
                var end = characterCount
                var found: Int?
                while end > start {
                    let piece = bytes[boundaries[start]..<boundaries[end]]
                    let id =
                        start == 0
                        ? (metaspace ? lookup(wordStart, piece) ?? vocabulary.id(piece) : vocabulary.id(piece))
                        : lookup(continuation, piece)
                    if let id {
                        found = id
                        break
                    }
                    end -= 1
                }
                guard let id = found else {
                    start += 1
                    continue
                }
                ids.append(id)
                start = end
            }
        }
        return ids
    }
}

/// The parts of a `.safetensors` file this module reads: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the raw data.
struct SafetensorsFile {
    struct Tensor {
        var dtype: String
        var shape: [Int]
        var start: Int
        var end: Int
    }

    let tensors: [String: Tensor]
    /// The header's `__metadata__` string map (empty when there is none).
    let metadata: [String: String]
    /// The whole file; tensor offsets count from ``dataStart``.
    let data: [UInt8]
    private let dataStart: Int

    init(bytes: [UInt8]) throws(MemoryError) {
        guard bytes.count >= 8 else {
            throw MemoryError.invalidInput("model.safetensors is shorter than its header length")
        }
        var headerLength = 0
        for index in 0..<8 {
            headerLength |= Int(bytes[index]) << (8 * index)
        }
        guard headerLength > 0, headerLength <= bytes.count - 8 else {
            throw MemoryError.invalidInput("model.safetensors declares a header of \(headerLength) bytes")
        }
        let header: [String: SafetensorsHeaderEntry]
        do {
            header = try JSONDecoder().decode(
                [String: SafetensorsHeaderEntry].self, from: Data(bytes[8..<(8 + headerLength)]))
        } catch {
            throw MemoryError.invalidInput("model.safetensors header is not a JSON object of tensors: \(error)")
        }
        var tensors: [String: Tensor] = [:]
        let dataCount = bytes.count - 8 - headerLength
        for (name, entry) in header where name != "__metadata__" {
            guard let dtype = entry.dtype, let shape = entry.shape, let offsets = entry.dataOffsets,
                offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataCount
            else {
                throw MemoryError.invalidInput("model.safetensors describes tensor \(name) badly")
            }
            tensors[name] = Tensor(dtype: dtype, shape: shape, start: offsets[0], end: offsets[1])
        }
        self.tensors = tensors
        self.metadata =
            (try? JSONDecoder().decode(SafetensorsMetadata.self, from: Data(bytes[8..<(8 + headerLength)])))?
            .metadata ?? [:]
        self.data = bytes
        self.dataStart = 8 + headerLength
    }

    /// Where `tensor`'s bytes lie in ``data``.
    func range(_ tensor: Tensor) -> Range<Int> {
        (dataStart + tensor.start)..<(dataStart + tensor.end)
    }

    /// The values of an `I64` tensor (such as a token-to-row mapping).
    func integers(_ tensor: Tensor) throws(MemoryError) -> [Int] {
        let count = tensor.shape.reduce(1, *)
        let bytes = data[(dataStart + tensor.start)..<(dataStart + tensor.end)]
        guard tensor.dtype == "I64" || tensor.dtype == "I32" else {
            throw MemoryError.invalidInput("model.safetensors mapping uses unsupported dtype \(tensor.dtype)")
        }
        let width = tensor.dtype == "I64" ? 8 : 4
        guard bytes.count == count * width else {
            throw MemoryError.invalidInput("model.safetensors mapping size does not match its shape")
        }
        var out = [Int](repeating: 0, count: count)
        var position = bytes.startIndex
        for index in 0..<count {
            var bits: UInt64 = 0
            for byte in 0..<width { bits |= UInt64(bytes[position + byte]) << (8 * byte) }
            out[index] = width == 8 ? Int(Int64(bitPattern: bits)) : Int(Int32(truncatingIfNeeded: bits))
            position += width
        }
        return out
    }

    /// The tensor's values widened to `Float`.
    func floats(_ tensor: Tensor) throws(MemoryError) -> [Float] {
        let count = tensor.shape.reduce(1, *)
        let bytes = data[(dataStart + tensor.start)..<(dataStart + tensor.end)]
        let width: Int
        switch tensor.dtype {
        case "F32": width = 4
        case "F16": width = 2
        case "I8": width = 1
        default: throw MemoryError.invalidInput("model.safetensors uses unsupported dtype \(tensor.dtype)")
        }
        guard bytes.count == count * width else {
            throw MemoryError.invalidInput("model.safetensors tensor size does not match its shape")
        }
        var out = [Float](repeating: 0, count: count)
        var position = bytes.startIndex
        for index in 0..<count {
            switch width {
            case 4:
                var bits: UInt32 = 0
                for byte in 0..<4 { bits |= UInt32(bytes[position + byte]) << (8 * byte) }
                out[index] = Float(bitPattern: bits)
            case 2:
                let bits = UInt16(bytes[position]) | UInt16(bytes[position + 1]) << 8
                out[index] = Float(Float16(bitPattern: bits))
            default:
                out[index] = Float(Int8(bitPattern: bytes[position]))
            }
            position += width
        }
        return out
    }
}

/// The `__metadata__` entry of a safetensors header.
struct SafetensorsMetadata: Decodable {
    var metadata: [String: String]?

    enum CodingKeys: String, CodingKey {
        case metadata = "__metadata__"
    }
}

/// One entry of a safetensors header; `__metadata__` (a string map) decodes with every field `nil`.
struct SafetensorsHeaderEntry: Decodable {
    var dtype: String?
    var shape: [Int]?
    var dataOffsets: [Int]?

    enum CodingKeys: String, CodingKey {
        case dtype
        case shape
        case dataOffsets = "data_offsets"
    }
}

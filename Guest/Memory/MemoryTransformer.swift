import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A BERT sentence encoder (all-MiniLM-L6-v2 as `provisioning/fetch-memory-model.sh` converts it): WordPiece ids →
/// word + position + token-type embeddings → layer norm → N × (12-head self-attention, residual, layer norm,
/// GELU feed-forward, residual, layer norm) → mean over the tokens → L2 normalisation.
///
/// Files in the model directory: `vocab.txt` and `encoder.safetensors`, whose matrices are I8 with one F32 scale
/// per row (`<name>.scale`) and whose `__metadata__` names the format (`somnus-minilm-int8/1`) and the shape
/// (`layers`, `hidden`, `heads`, `intermediate`, `layer_norm_eps`, `max_tokens`). The weights file is mapped
/// read-only (``MemoryModelBytes``): the int8 matrices are read in place from the page cache; only the small F32
/// vectors are copied out.
struct TransformerEmbedder: MemoryEmbedder {
    static let format = "somnus-minilm-int8/1"
    static let vocabularyFile = "vocab.txt"
    static let weightsFile = "encoder.safetensors"

    let name: String
    let dimensions: Int
    /// The longest sequence encoded, `[CLS]` and `[SEP]` included; longer texts are truncated.
    let maxTokens: Int
    let tokenizer: MemoryWordPiece
    private let weights: TransformerWeights

    var signature: String {
        "\(name)/\(dimensions)/\(Self.format)/\(weights.checksum)"
    }

    /// Chosen on the tuning half of `Tests/MemoryTests/Data/memory-eval.json` (`somnus-bench memory
    /// --bm25-weights …`): recall@5 is 1.0 there for every weight from 0 to 1, and MRR@5 falls steadily from 0.931
    /// at 0 to 0.809 at 1. So hybrid search ranks by the model alone; the BM25 rank is still reported with each hit.
    var bm25Weight: Double { 0 }

    /// Loads a model directory; `nil` when `vocab.txt` and `encoder.safetensors` are not both there.
    static func load(directory: String) throws(MemoryError) -> TransformerEmbedder? {
        let vocabularyPath = directory + "/" + vocabularyFile
        let weightsPath = directory + "/" + weightsFile
        guard FileManager.default.fileExists(atPath: vocabularyPath),
            FileManager.default.fileExists(atPath: weightsPath)
        else {
            return nil
        }
        let base = directory.split(separator: "/").last.map(String.init) ?? directory
        return try TransformerEmbedder(
            name: "minilm:" + base, vocabulary: try StaticModelEmbedder.readFile(vocabularyPath),
            weights: try MemoryModelBytes(mapping: weightsPath))
    }

    /// Builds the embedder from the bytes of `vocab.txt` and `encoder.safetensors`.
    /// - Throws: ``MemoryError`` `invalidInput` naming the missing tensor, metadata key or bad shape.
    init(name: String, vocabulary: [UInt8], safetensors: [UInt8]) throws(MemoryError) {
        try self.init(name: name, vocabulary: vocabulary, weights: MemoryModelBytes(copying: safetensors))
    }

    /// Builds the embedder from the bytes of `vocab.txt` and those of `encoder.safetensors`, which the encoder
    /// reads its matrices from in place (parsing copies the header and the small vectors out of a transient copy).
    /// - Throws: ``MemoryError`` `invalidInput` naming the missing tensor, metadata key or bad shape.
    init(name: String, vocabulary: [UInt8], weights file: MemoryModelBytes) throws(MemoryError) {
        self.name = name
        self.tokenizer = try MemoryWordPiece(vocabularyFile: vocabulary)
        self.weights = try TransformerWeights(file: try SafetensorsFile(bytes: file.array()), bytes: file)
        self.dimensions = weights.hidden
        self.maxTokens = weights.maxTokens
        guard weights.vocabulary == tokenizer.count else {
            throw MemoryError.invalidInput(
                "vocab.txt has \(tokenizer.count) tokens but encoder.safetensors embeds \(weights.vocabulary)")
        }
    }

    func embed(_ text: String) -> [Float] {
        weights.encode(tokenizer.encode(text, maxTokens: maxTokens))
    }
}

/// The encoder's weights and its forward pass.
struct TransformerWeights: Sendable {
    /// An I8 matrix in the file with one scale per row, plus its F32 bias.
    struct Linear: Sendable {
        var rows: Int
        var columns: Int
        /// Where the row-major `rows × columns` bytes start in the file.
        var offset: Int
        var scales: [Float]
        var bias: [Float]
    }

    struct Norm: Sendable {
        var weight: [Float]
        var bias: [Float]
    }

    struct Layer: Sendable {
        var query: Linear
        var key: Linear
        var value: Linear
        var attentionOutput: Linear
        var attentionNorm: Norm
        var intermediate: Linear
        var output: Linear
        var outputNorm: Norm
    }

    let hidden: Int
    let heads: Int
    let intermediateSize: Int
    let maxTokens: Int
    let epsilon: Float
    let vocabulary: Int
    /// The first 16 hex digits of FNV-1a over the file, so that other weights re-embed the memories.
    let checksum: String
    private let file: MemoryModelBytes
    private let words: Linear
    private let positions: [Float]
    private let tokenType: [Float]
    private let embeddingNorm: Norm
    private let layers: [Layer]

    /// Reads the shape, vectors and matrix offsets from `tensors`, whose data `bytes` holds.
    init(file tensors: SafetensorsFile, bytes: MemoryModelBytes) throws(MemoryError) {
        let metadata = tensors.metadata
        guard metadata["format"] == TransformerEmbedder.format else {
            throw MemoryError.invalidInput(
                "encoder.safetensors has format \(metadata["format"] ?? "(none)"), expected \(TransformerEmbedder.format)"
            )
        }
        func number(_ key: String) throws(MemoryError) -> Int {
            guard let text = metadata[key], let value = Int(text), value > 0 else {
                throw MemoryError.invalidInput("encoder.safetensors metadata lacks a positive \(key)")
            }
            return value
        }
        let hidden = try number("hidden")
        let heads = try number("heads")
        let intermediateSize = try number("intermediate")
        let maxTokens = try number("max_tokens")
        let layerCount = try number("layers")
        guard let epsilon = metadata["layer_norm_eps"].flatMap(Float.init), epsilon > 0 else {
            throw MemoryError.invalidInput("encoder.safetensors metadata lacks a positive layer_norm_eps")
        }
        guard hidden % heads == 0, hidden % 16 == 0, intermediateSize % 16 == 0, (hidden / heads) % 16 == 0 else {
            throw MemoryError.invalidInput(
                "encoder.safetensors shape hidden \(hidden), heads \(heads), intermediate \(intermediateSize) "
                    + "is not supported (multiples of 16 per head and per row)")
        }

        func vector(_ name: String, _ count: Int) throws(MemoryError) -> [Float] {
            guard let tensor = tensors.tensors[name], tensor.dtype == "F32", tensor.shape.reduce(1, *) == count
            else {
                throw MemoryError.invalidInput("encoder.safetensors lacks F32 tensor \(name) of \(count) values")
            }
            return try tensors.floats(tensor)
        }
        func linear(_ name: String, rows: Int, columns: Int, bias: Bool = true) throws(MemoryError) -> Linear {
            guard let tensor = tensors.tensors[name + ".weight"], tensor.dtype == "I8",
                tensor.shape == [rows, columns]
            else {
                throw MemoryError.invalidInput(
                    "encoder.safetensors lacks I8 tensor \(name).weight [\(rows), \(columns)]")
            }
            return Linear(
                rows: rows, columns: columns, offset: tensors.range(tensor).lowerBound,
                scales: try vector(name + ".weight.scale", rows),
                bias: bias ? try vector(name + ".bias", rows) : [])
        }
        func norm(_ name: String) throws(MemoryError) -> Norm {
            Norm(weight: try vector(name + ".weight", hidden), bias: try vector(name + ".bias", hidden))
        }
        guard let wordTensor = tensors.tensors["embeddings.word_embeddings.weight"], wordTensor.shape.count == 2 else {
            throw MemoryError.invalidInput("encoder.safetensors lacks embeddings.word_embeddings.weight")
        }
        let vocabulary = wordTensor.shape[0]
        let words = try linear("embeddings.word_embeddings", rows: vocabulary, columns: hidden, bias: false)
        guard let positionTensor = tensors.tensors["embeddings.position_embeddings.weight"],
            positionTensor.shape.count == 2, positionTensor.shape[1] == hidden, positionTensor.shape[0] >= maxTokens
        else {
            throw MemoryError.invalidInput(
                "encoder.safetensors lacks embeddings.position_embeddings.weight for \(maxTokens) positions")
        }
        let positions = try vector("embeddings.position_embeddings.weight", positionTensor.shape[0] * hidden)
        let tokenType = Array(try vector("embeddings.token_type_embeddings.weight", 2 * hidden)[0..<hidden])
        let embeddingNorm = try norm("embeddings.LayerNorm")
        var layers: [Layer] = []
        for index in 0..<layerCount {
            let prefix = "encoder.layer.\(index)."
            layers.append(
                Layer(
                    query: try linear(prefix + "attention.self.query", rows: hidden, columns: hidden),
                    key: try linear(prefix + "attention.self.key", rows: hidden, columns: hidden),
                    value: try linear(prefix + "attention.self.value", rows: hidden, columns: hidden),
                    attentionOutput: try linear(prefix + "attention.output.dense", rows: hidden, columns: hidden),
                    attentionNorm: try norm(prefix + "attention.output.LayerNorm"),
                    intermediate: try linear(prefix + "intermediate.dense", rows: intermediateSize, columns: hidden),
                    output: try linear(prefix + "output.dense", rows: hidden, columns: intermediateSize),
                    outputNorm: try norm(prefix + "output.LayerNorm")))
        }
        self.hidden = hidden
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.maxTokens = maxTokens
        self.epsilon = epsilon
        self.vocabulary = vocabulary
        self.words = words
        self.positions = positions
        self.tokenType = tokenType
        self.embeddingNorm = embeddingNorm
        self.layers = layers
        self.file = bytes
        self.checksum = String(HashedNgramEmbedder.fnv1a(bytes: tensors.data), radix: 16)
    }

    /// The mean of the last layer's token states, L2-normalized.
    func encode(_ ids: [Int32]) -> [Float] {
        let tokens = ids.count
        let hidden = hidden
        // One arena: x, q, k, v, context, scratch (tokens × hidden each), the feed-forward's inner states
        // (tokens × intermediate), the attention scores (tokens²) and one widened weight row.
        let stride = tokens * hidden
        let arenaCount = 6 * stride + tokens * intermediateSize + tokens * tokens + max(hidden, intermediateSize)
        let arena = UnsafeMutablePointer<Float>.allocate(capacity: arenaCount)
        defer { arena.deallocate() }
        arena.initialize(repeating: 0, count: arenaCount)
        let x = arena
        let q = x + stride
        let k = q + stride
        let v = k + stride
        let context = v + stride
        let scratch = context + stride
        let inner = scratch + stride
        let scores = inner + tokens * intermediateSize
        let row = scores + tokens * tokens

        file.withUnsafeBytes { raw in
            // The file holds at least the header and the word table, so it is never empty.
            guard let base = raw.baseAddress else { return }
            let bytes = base.assumingMemoryBound(to: Int8.self)
            for (position, id) in ids.enumerated() {
                let word = Int(id) < vocabulary ? Int(id) : 0
                let scale = words.scales[word]
                let source = bytes + words.offset + word * hidden
                let target = x + position * hidden
                for index in 0..<hidden {
                    target[index] =
                        Float(source[index]) * scale + positions[position * hidden + index] + tokenType[index]
                }
            }
            Self.normalize(x, tokens: tokens, width: hidden, norm: embeddingNorm, epsilon: epsilon)
            for layer in layers {
                Self.apply(layer.query, bytes, to: x, tokens: tokens, into: q, row: row)
                Self.apply(layer.key, bytes, to: x, tokens: tokens, into: k, row: row)
                Self.apply(layer.value, bytes, to: x, tokens: tokens, into: v, row: row)
                Self.attend(
                    q: q, k: k, v: v, tokens: tokens, hidden: hidden, heads: heads, scores: scores, into: context)
                Self.apply(layer.attentionOutput, bytes, to: context, tokens: tokens, into: scratch, row: row)
                Self.addAndNormalize(
                    scratch, into: x, tokens: tokens, width: hidden, norm: layer.attentionNorm, epsilon: epsilon)
                Self.apply(layer.intermediate, bytes, to: x, tokens: tokens, into: inner, row: row)
                for index in 0..<(tokens * intermediateSize) {
                    let value = inner[index]
                    inner[index] = 0.5 * value * (1 + erff(value * 0.707_106_77))
                }
                Self.apply(layer.output, bytes, to: inner, tokens: tokens, into: scratch, row: row)
                Self.addAndNormalize(
                    scratch, into: x, tokens: tokens, width: hidden, norm: layer.outputNorm, epsilon: epsilon)
            }
        }
        var pooled = [Float](repeating: 0, count: hidden)
        for token in 0..<tokens {
            for index in 0..<hidden {
                pooled[index] += x[token * hidden + index]
            }
        }
        TransformerEmbedder.normalized(&pooled)
        return pooled
    }

    /// `out[t][o] = scale[o] · (W[o] · input[t]) + bias[o]` for every token `t`: each int8 row is widened once
    /// into `row` and multiplied with four tokens at a time. Eight-lane accumulators: four tokens' sums, the
    /// weights and the inputs fit the 16 SSE registers of baseline x86-64 (sixteen lanes spill, about 30 % slower).
    @_optimize(speed)
    static func apply(
        _ linear: Linear, _ bytes: UnsafePointer<Int8>, to input: UnsafeMutablePointer<Float>, tokens: Int,
        into out: UnsafeMutablePointer<Float>, row: UnsafeMutablePointer<Float>
    ) {
        let columns = linear.columns
        let rows = linear.rows
        let weights = bytes + linear.offset
        linear.scales.withUnsafeBufferPointer { scales in
            linear.bias.withUnsafeBufferPointer { bias in
                for outputIndex in 0..<rows {
                    let source = UnsafeRawPointer(weights + outputIndex * columns)
                    var column = 0
                    while column < columns {
                        let packed = source.loadUnaligned(fromByteOffset: column, as: SIMD16<Int8>.self)
                        UnsafeMutableRawPointer(row + column).storeBytes(
                            of: SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: packed)), as: SIMD16<Float>.self)
                        column += 16
                    }
                    let scale = scales[outputIndex]
                    let offset = bias.isEmpty ? 0 : bias[outputIndex]
                    var token = 0
                    while token + 4 <= tokens {
                        let x0 = UnsafeRawPointer(input + token * columns)
                        let x1 = UnsafeRawPointer(input + (token + 1) * columns)
                        let x2 = UnsafeRawPointer(input + (token + 2) * columns)
                        let x3 = UnsafeRawPointer(input + (token + 3) * columns)
                        let w = UnsafeRawPointer(row)
                        var a0 = SIMD8<Float>()
                        var a1 = SIMD8<Float>()
                        var a2 = SIMD8<Float>()
                        var a3 = SIMD8<Float>()
                        var byte = 0
                        while byte < columns * 4 {
                            let wv = w.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                            a0 += wv * x0.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                            a1 += wv * x1.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                            a2 += wv * x2.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                            a3 += wv * x3.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                            byte += 32
                        }
                        out[token * rows + outputIndex] = a0.sum() * scale + offset
                        out[(token + 1) * rows + outputIndex] = a1.sum() * scale + offset
                        out[(token + 2) * rows + outputIndex] = a2.sum() * scale + offset
                        out[(token + 3) * rows + outputIndex] = a3.sum() * scale + offset
                        token += 4
                    }
                    while token < tokens {
                        let x0 = UnsafeRawPointer(input + token * columns)
                        let w = UnsafeRawPointer(row)
                        var a0 = SIMD8<Float>()
                        var byte = 0
                        while byte < columns * 4 {
                            a0 +=
                                w.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                                * x0.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
                            byte += 32
                        }
                        out[token * rows + outputIndex] = a0.sum() * scale + offset
                        token += 1
                    }
                }
            }
        }
    }

    /// Scaled dot-product attention per head over all tokens (no padding, so no mask).
    @_optimize(speed)
    static func attend(
        q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, tokens: Int,
        hidden: Int, heads: Int, scores: UnsafeMutablePointer<Float>, into context: UnsafeMutablePointer<Float>
    ) {
        let size = hidden / heads
        let factor = 1 / Float(size).squareRoot()
        for head in 0..<heads {
            let base = head * size
            for query in 0..<tokens {
                let qRow = UnsafeRawPointer(q + query * hidden + base)
                let scoreRow = scores + query * tokens
                var largest = -Float.infinity
                for key in 0..<tokens {
                    let kRow = UnsafeRawPointer(k + key * hidden + base)
                    var sum = SIMD16<Float>()
                    var byte = 0
                    while byte < size * 4 {
                        sum +=
                            qRow.loadUnaligned(fromByteOffset: byte, as: SIMD16<Float>.self)
                            * kRow.loadUnaligned(fromByteOffset: byte, as: SIMD16<Float>.self)
                        byte += 64
                    }
                    let score = sum.sum() * factor
                    scoreRow[key] = score
                    largest = max(largest, score)
                }
                var total: Float = 0
                for key in 0..<tokens {
                    let weight = expf(scoreRow[key] - largest)
                    scoreRow[key] = weight
                    total += weight
                }
                let inverse = 1 / total
                let target = context + query * hidden + base
                for index in 0..<size { target[index] = 0 }
                for key in 0..<tokens {
                    let weight = scoreRow[key] * inverse
                    let vRow = v + key * hidden + base
                    for index in 0..<size { target[index] += weight * vRow[index] }
                }
            }
        }
    }

    /// `x = LayerNorm(x + delta)` per token.
    static func addAndNormalize(
        _ delta: UnsafeMutablePointer<Float>, into x: UnsafeMutablePointer<Float>, tokens: Int, width: Int,
        norm: Norm, epsilon: Float
    ) {
        for index in 0..<(tokens * width) { x[index] += delta[index] }
        normalize(x, tokens: tokens, width: width, norm: norm, epsilon: epsilon)
    }

    /// Layer normalisation of each token's `width` values, then `· weight + bias`.
    static func normalize(
        _ x: UnsafeMutablePointer<Float>, tokens: Int, width: Int, norm: Norm, epsilon: Float
    ) {
        for token in 0..<tokens {
            let values = x + token * width
            var mean: Float = 0
            for index in 0..<width { mean += values[index] }
            mean /= Float(width)
            var variance: Float = 0
            for index in 0..<width {
                let centered = values[index] - mean
                variance += centered * centered
            }
            variance /= Float(width)
            let inverse = 1 / (variance + epsilon).squareRoot()
            for index in 0..<width {
                values[index] = (values[index] - mean) * inverse * norm.weight[index] + norm.bias[index]
            }
        }
    }
}

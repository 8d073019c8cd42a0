/// Hashed word and character n-gram features of a template.
enum LogFeatures {
    /// log2 of the number of hash buckets.
    static let bucketBits = 14
    /// The number of hash buckets.
    static let bucketCount = 1 << bucketBits

    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    @inline(__always) static func isTokenByte(_ byte: UInt8) -> Bool {
        LogMasker.isAlphanumeric(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "<")
            || byte == UInt8(ascii: ">") || byte >= 0x80
    }

    @inline(__always) static func mix(_ value: UInt64) -> UInt64 {
        var x = value
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }

    @inline(__always) static func bucket(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: mix(hash) & UInt64(bucketCount - 1))
    }

    /// Calls `body` with the bucket of every feature: word unigrams, word bigrams and character 4-grams of words
    /// (with `^`/`$` boundaries, for words of 4…40 bytes) of the lower-cased template.
    static func forEach(_ template: UnsafeBufferPointer<UInt8>, _ body: (Int) -> Void) {
        var previous: UInt64 = 0x5eed
        var index = 0
        let count = template.count
        while index < count {
            guard isTokenByte(template[index]) else {
                index += 1
                continue
            }
            let start = index
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            while index < count, isTokenByte(template[index]) {
                hash = (hash ^ UInt64(lower(template[index]))) &* 0x100_0000_01b3
                index += 1
            }
            body(bucket(hash))
            body(bucket(hash &* 31 &+ previous &* 0x9e37_79b9_7f4a_7c15))
            previous = hash
            let length = index - start
            if length >= 4, length <= 40, template[start] != UInt8(ascii: "<") {
                // Character 4-grams over "^token$".
                for offset in -1...(length - 3) {
                    var gram: UInt64 = 0x6772_616d
                    for position in offset..<(offset + 4) {
                        let byte: UInt8 =
                            position < 0
                            ? UInt8(ascii: "^")
                            : position >= length
                                ? UInt8(ascii: "$")
                                : lower(template[start + position])
                        gram = (gram ^ UInt64(byte)) &* 0x100_0000_01b3
                    }
                    body(bucket(gram))
                }
            }
        }
    }
}

/// A small multinomial logistic-regression model over hashed features, trained offline by
/// `Tests/LogClassifierTests/LogModelTrainer.swift` and shipped as `LogModelWeights.swift`.
struct LogModel: Sendable {
    /// Class order of the weights.
    static let classes: [LogCategory] = [.cudaError, .networkFailure, .dependencyMissing, .runtimeError, .other]

    /// `weights[bucket * classes.count + class]`, as shipped: one signed byte each, times ``scale``. Kept in
    /// that form (80 KB) rather than as `Float`s (320 KB); each weight is the same `Float` either way.
    let weights: [Int8]
    /// The factor of every weight.
    let scale: Float
    /// Per-class bias.
    let bias: [Float]

    static let shared = LogModel(scale: trainedScale, bias: trainedBias, encoded: trainedWeights)

    /// Decodes the shipped form: sparse entries of 4 hex digits (bucket) and one signed byte per class.
    init(scale: Float, bias: [Float], encoded: StaticString) {
        let classCount = Self.classes.count
        var weights = Array(repeating: Int8(0), count: LogFeatures.bucketCount * classCount)
        encoded.withUTF8Buffer { text in
            func hex(_ byte: UInt8) -> Int {
                LogMasker.isDigit(byte) ? Int(byte - 0x30) : Int((byte | 0x20) - 0x61 + 10)
            }
            let entryLength = 4 + 2 * classCount
            var digits: [Int] = []
            digits.reserveCapacity(entryLength)
            // Whitespace and newlines between entries are skipped.
            for byte in text where LogMasker.isHex(byte) {
                digits.append(hex(byte))
                guard digits.count == entryLength else {
                    continue
                }
                let bucket = (digits[0] << 12 | digits[1] << 8 | digits[2] << 4 | digits[3]) % LogFeatures.bucketCount
                for klass in 0..<classCount {
                    weights[bucket * classCount + klass] = Int8(
                        truncatingIfNeeded: digits[4 + 2 * klass] << 4 | digits[5 + 2 * klass])
                }
                digits.removeAll(keepingCapacity: true)
            }
        }
        self.weights = weights
        self.scale = scale
        self.bias = bias.count == classCount ? bias : Array(repeating: 0, count: classCount)
    }

    /// Class probabilities (in ``classes`` order) for a template.
    func probabilities(_ template: UnsafeBufferPointer<UInt8>) -> [Double] {
        var scores = bias.map { Double($0) }
        let scale = scale
        weights.withUnsafeBufferPointer { weights in
            LogFeatures.forEach(template) { bucket in
                let base = bucket * 5
                scores[0] += Double(Float(weights[base]) * scale)
                scores[1] += Double(Float(weights[base + 1]) * scale)
                scores[2] += Double(Float(weights[base + 2]) * scale)
                scores[3] += Double(Float(weights[base + 3]) * scale)
                scores[4] += Double(Float(weights[base + 4]) * scale)
            }
        }
        let maximum = scores.max() ?? 0
        var total = 0.0
        for index in scores.indices {
            scores[index] = exp(scores[index] - maximum)
            total += scores[index]
        }
        return scores.map { $0 / total }
    }
}

/// `e^x` without Foundation (range-reduced Taylor series; plenty for softmax).
@inline(__always) func exp(_ x: Double) -> Double {
    if x < -700 { return 0 }
    let k = (x / 0.6931471805599453).rounded(.down)
    let r = x - k * 0.6931471805599453
    var term = 1.0
    var sum = 1.0
    for n in 1...12 {
        term *= r / Double(n)
        sum += term
    }
    return sum * Double(sign: .plus, exponent: Int(k), significand: 1)
}

/// A tokenizer vocabulary held compactly: every token's UTF-8 bytes in one contiguous buffer, an offset per token
/// and an open-addressing hash table of token → id (linear probing, FNV-1a), instead of a `[String: Int]`.
///
/// 276,000 tokens take about 5 MiB this way (bytes + offsets + ids + slots) against tens of MiB as Swift strings
/// in a dictionary decoded through `JSONDecoder`.
struct MemoryVocabulary: Sendable {
    /// The tokens' UTF-8 bytes, one after the other.
    private var bytes: [UInt8] = []
    /// Where token `n`'s bytes start; `offsets[n + 1]` is where they end.
    private var offsets: [UInt32] = [0]
    /// Token `n`'s id.
    private var ids: [Int32] = []
    /// Open-addressing table: `entry + 1`, or 0 for an empty slot. Its size is a power of two.
    private var slots: [Int32] = []

    /// Tokens held.
    var count: Int { ids.count }

    init() {}

    /// Adds `token` with `id` unless the token is already there (the first id wins).
    mutating func insert(_ token: some Collection<UInt8>, id: Int) {
        if (ids.count + 1) * 2 > slots.count { grow() }
        let hash = Self.hash(token)
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while slots[slot] != 0 {
            if equals(entry: Int(slots[slot]) - 1, token) { return }
            slot = (slot + 1) & mask
        }
        bytes.append(contentsOf: token)
        offsets.append(UInt32(truncatingIfNeeded: bytes.count))
        ids.append(Int32(truncatingIfNeeded: id))
        slots[slot] = Int32(truncatingIfNeeded: ids.count)
    }

    /// The id of the token spelled by `token`'s UTF-8 bytes, or `nil`.
    func id(_ token: some Collection<UInt8>) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var slot = Int(truncatingIfNeeded: Self.hash(token)) & mask
        while slots[slot] != 0 {
            let entry = Int(slots[slot]) - 1
            if equals(entry: entry, token) { return Int(ids[entry]) }
            slot = (slot + 1) & mask
        }
        return nil
    }

    /// The id of `token`, or `nil`.
    func id(_ token: String) -> Int? {
        id(token.utf8)
    }

    /// Releases the spare capacity of the growing buffers.
    mutating func compact() {
        bytes = Array(bytes)
        offsets = Array(offsets)
        ids = Array(ids)
    }

    private func equals(entry: Int, _ token: some Collection<UInt8>) -> Bool {
        let start = Int(offsets[entry])
        let end = Int(offsets[entry + 1])
        guard end - start == token.count else { return false }
        var position = start
        for byte in token {
            if bytes[position] != byte { return false }
            position += 1
        }
        return true
    }

    private mutating func grow() {
        let size = max(1024, slots.count * 2)
        var table = [Int32](repeating: 0, count: size)
        let mask = size - 1
        for entry in 0..<ids.count {
            let start = Int(offsets[entry])
            let end = Int(offsets[entry + 1])
            var slot = Int(truncatingIfNeeded: Self.hash(bytes[start..<end])) & mask
            while table[slot] != 0 { slot = (slot + 1) & mask }
            table[slot] = Int32(truncatingIfNeeded: entry + 1)
        }
        slots = table
    }

    /// 64-bit FNV-1a.
    private static func hash(_ token: some Collection<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in token {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash ^ (hash >> 29)
    }
}

/// What ``TokenizerScanner`` reads from a Hugging Face `tokenizer.json`: the vocabulary, the unknown token and the
/// normalizer's `lowercase` flag. Everything else in the file is skipped without being materialized.
struct TokenizerSummary {
    var vocabulary = MemoryVocabulary()
    var unknownToken: String?
    var unknownID: Int?
    var lowercase: Bool?
}

/// A byte-level scanner of `tokenizer.json`: it walks the JSON once, decoding only the strings and numbers it
/// needs (`model.vocab`, `model.unk_token`, `model.unk_id`, `normalizer.lowercase`) and skipping the rest.
///
/// `model.vocab` is either a WordPiece/BPE `{token: id}` object or a Unigram `[[token, score], …]` list (the id is
/// the position).
struct TokenizerScanner {
    private let data: [UInt8]
    private var position = 0

    /// Scans `data` (the whole file).
    /// - Throws: ``MemoryError`` `invalidInput` naming the byte offset of the first malformed value.
    static func scan(_ data: [UInt8]) throws(MemoryError) -> TokenizerSummary {
        var scanner = TokenizerScanner(data: data)
        var summary = TokenizerSummary()
        var sawModel = false
        try scanner.object { scanner, key throws(MemoryError) in
            switch key {
            case "model":
                sawModel = true
                try scanner.model(into: &summary)
            case "normalizer":
                try scanner.normalizer(into: &summary)
            default:
                try scanner.skipValue()
            }
        }
        guard sawModel else { throw MemoryError.invalidInput("tokenizer.json has no \"model\" object") }
        summary.vocabulary.compact()
        return summary
    }

    private init(data: [UInt8]) {
        self.data = data
    }

    private mutating func model(into summary: inout TokenizerSummary) throws(MemoryError) {
        if try skipNull() { return }
        try object { scanner, key throws(MemoryError) in
            switch key {
            case "vocab": try scanner.vocabulary(into: &summary.vocabulary)
            case "unk_token": summary.unknownToken = try scanner.optionalString()
            case "unk_id": summary.unknownID = try scanner.optionalInteger()
            default: try scanner.skipValue()
            }
        }
    }

    private mutating func normalizer(into summary: inout TokenizerSummary) throws(MemoryError) {
        if try skipNull() { return }
        guard peek() == UInt8(ascii: "{") else { return try skipValue() }
        try object { scanner, key throws(MemoryError) in
            if key == "lowercase" {
                summary.lowercase = try scanner.optionalBool()
            } else {
                try scanner.skipValue()
            }
        }
    }

    private mutating func vocabulary(into vocabulary: inout MemoryVocabulary) throws(MemoryError) {
        var token: [UInt8] = []
        skipSpace()
        if peek() == UInt8(ascii: "{") {
            position += 1
            skipSpace()
            if peek() == UInt8(ascii: "}") {
                position += 1
                return
            }
            while true {
                skipSpace()
                token.removeAll(keepingCapacity: true)
                try string(into: &token)
                try expect(UInt8(ascii: ":"))
                guard let id = try optionalInteger() else { throw failure("a vocabulary id is null") }
                vocabulary.insert(token, id: id)
                if try endOfContainer(UInt8(ascii: "}")) { return }
            }
        }
        try expect(UInt8(ascii: "["))
        skipSpace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return
        }
        var id = 0
        while true {
            try expect(UInt8(ascii: "["))
            skipSpace()
            token.removeAll(keepingCapacity: true)
            try string(into: &token)
            vocabulary.insert(token, id: id)
            id += 1
            while try !endOfContainer(UInt8(ascii: "]")) { try skipValue() }
            if try endOfContainer(UInt8(ascii: "]")) { return }
        }
    }

    // MARK: - JSON primitives

    /// Calls `member` for each key of the object at the cursor, with the cursor on the key's value.
    private mutating func object(
        _ member: (inout TokenizerScanner, String) throws(MemoryError) -> Void
    ) throws(MemoryError) {
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        var key: [UInt8] = []
        while true {
            skipSpace()
            key.removeAll(keepingCapacity: true)
            try string(into: &key)
            try expect(UInt8(ascii: ":"))
            skipSpace()
            try member(&self, String(decoding: key, as: UTF8.self))
            if try endOfContainer(UInt8(ascii: "}")) { return }
        }
    }

    /// After a value: consumes `,` (returns `false`) or `close` (returns `true`).
    private mutating func endOfContainer(_ close: UInt8) throws(MemoryError) -> Bool {
        skipSpace()
        guard position < data.count else { throw failure("the file ends inside a container") }
        let byte = data[position]
        position += 1
        if byte == UInt8(ascii: ",") { return false }
        if byte == close { return true }
        throw failure("expected ',' or '\(Character(Unicode.Scalar(close)))'")
    }

    private mutating func expect(_ byte: UInt8) throws(MemoryError) {
        skipSpace()
        guard position < data.count, data[position] == byte else {
            throw failure("expected '\(Character(Unicode.Scalar(byte)))'")
        }
        position += 1
    }

    private func peek() -> UInt8? {
        position < data.count ? data[position] : nil
    }

    private mutating func skipSpace() {
        while position < data.count {
            switch data[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Consumes `null` and returns `true`, or returns `false` at anything else.
    private mutating func skipNull() throws(MemoryError) -> Bool {
        skipSpace()
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ word: String) throws(MemoryError) {
        let bytes = word.utf8
        guard position + bytes.count <= data.count else { throw failure("truncated literal") }
        guard data[position..<(position + bytes.count)].elementsEqual(bytes) else { throw failure("unknown literal") }
        position += bytes.count
    }

    private mutating func optionalString() throws(MemoryError) -> String? {
        if try skipNull() { return nil }
        var bytes: [UInt8] = []
        try string(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func optionalBool() throws(MemoryError) -> Bool? {
        skipSpace()
        switch peek() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default: throw failure("expected a boolean")
        }
    }

    /// A JSON number that must be an integer (`3`, `-1`, `3.0` is refused), or `nil` for `null`.
    private mutating func optionalInteger() throws(MemoryError) -> Int? {
        if try skipNull() { return nil }
        var negative = false
        if peek() == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var value = 0
        var digits = 0
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
            guard digits < 18 else { throw failure("an integer is too long") }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw failure("expected an integer") }
        if let byte = peek(), byte == UInt8(ascii: ".") || byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
            throw failure("expected an integer, found a fraction")
        }
        return negative ? -value : value
    }

    /// Decodes the JSON string at the cursor into UTF-8 bytes (escapes resolved, surrogate pairs joined).
    private mutating func string(into out: inout [UInt8]) throws(MemoryError) {
        try expect(UInt8(ascii: "\""))
        while position < data.count {
            let byte = data[position]
            position += 1
            if byte == UInt8(ascii: "\"") { return }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                continue
            }
            guard position < data.count else { break }
            let escape = data[position]
            position += 1
            switch escape {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar), position + 6 <= data.count, data[position] == UInt8(ascii: "\\"),
                    data[position + 1] == UInt8(ascii: "u")
                {
                    position += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else { throw failure("an unpaired surrogate") }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw failure("an invalid \\u escape") }
                out.append(contentsOf: String(unicode).utf8)
            default: out.append(escape)
            }
        }
        throw failure("the file ends inside a string")
    }

    private mutating func hex4() throws(MemoryError) -> UInt32 {
        guard position + 4 <= data.count else { throw failure("a truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = data[position]
            position += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("a bad \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Skips one JSON value of any kind, nested containers included, without decoding it.
    private mutating func skipValue() throws(MemoryError) {
        skipSpace()
        var depth = 0
        repeat {
            skipSpace()
            guard position < data.count else { throw failure("the file ends inside a value") }
            switch data[position] {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                position += 1
                continue
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard depth > 0 else { throw failure("an unexpected close bracket") }
                depth -= 1
                position += 1
            case UInt8(ascii: "\""):
                position += 1
                while position < data.count, data[position] != UInt8(ascii: "\"") {
                    position += data[position] == UInt8(ascii: "\\") ? 2 : 1
                }
                guard position < data.count else { throw failure("the file ends inside a string") }
                position += 1
            case UInt8(ascii: ","), UInt8(ascii: ":"):
                guard depth > 0 else { throw failure("an unexpected separator") }
                position += 1
                continue
            default:
                // A number or a literal: up to the next delimiter.
                let start = position
                while position < data.count {
                    switch data[position] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                        break
                    default:
                        position += 1
                        continue
                    }
                    break
                }
                guard position > start else { throw failure("an unexpected byte") }
            }
        } while depth > 0
    }

    private func failure(_ what: String) -> MemoryError {
        MemoryError.invalidInput("tokenizer.json is not a tokenizer file: \(what) at byte \(position)")
    }
}

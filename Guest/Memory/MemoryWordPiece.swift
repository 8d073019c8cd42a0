// `Unicode._NFD` (the standard library's canonical decomposition, SPI) strips accents as BERT does: decompose,
// then drop the non-spacing marks. FoundationEssentials has no normalization and full Foundation is not linked.
@_spi(_Unicode) import Swift

/// BERT's uncased WordPiece tokenizer (`BertNormalizer` + `BertPreTokenizer` + `WordPiece` in Hugging Face's
/// `tokenizers`): drop control characters and turn whitespace into spaces, isolate CJK ideographs, strip accents
/// (canonical decomposition without non-spacing marks), lower-case, split on whitespace and on every punctuation
/// character, then split each word greedily into the longest vocabulary pieces (`##` marks a continuation). A word
/// longer than 100 characters, or one with a part no piece matches, becomes `[UNK]`. The ids are framed by
/// `[CLS]` … `[SEP]` and truncated so that the whole sequence holds at most `maxTokens` ids.
struct MemoryWordPiece: Sendable {
    /// The longest word (in Unicode scalars) split into pieces; a longer one is `[UNK]`.
    static let maxWordScalars = 100

    private let vocabulary: MemoryVocabulary
    let unknownID: Int32
    let classifierID: Int32
    let separatorID: Int32
    /// Vocabulary size.
    let count: Int
    /// `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]` and `[MASK]` with their ids, matched verbatim in the text.
    private let specialTokens: [(text: String, id: Int32)]

    /// Reads `vocab.txt` (one token per line, the line's index is its id).
    /// - Throws: ``MemoryError`` `invalidInput` when the file is empty or lacks `[UNK]`, `[CLS]` or `[SEP]`.
    init(vocabularyFile bytes: [UInt8]) throws(MemoryError) {
        var vocabulary = MemoryVocabulary()
        var start = 0
        var id = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            var tokenEnd = end
            if tokenEnd > start && bytes[tokenEnd - 1] == 0x0D { tokenEnd -= 1 }
            vocabulary.insert(bytes[start..<tokenEnd], id: id)
            id += 1
            start = end + 1
        }
        vocabulary.compact()
        func special(_ token: String) throws(MemoryError) -> Int32 {
            guard let id = vocabulary.id(token) else {
                throw MemoryError.invalidInput("vocab.txt has no \(token) token")
            }
            return Int32(id)
        }
        self.unknownID = try special("[UNK]")
        self.classifierID = try special("[CLS]")
        self.separatorID = try special("[SEP]")
        self.specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].compactMap { token in
            vocabulary.id(token).map { (token, Int32($0)) }
        }
        self.vocabulary = vocabulary
        self.count = id
    }

    /// `[CLS]`, the pieces of `text`, `[SEP]`: at most `maxTokens` ids (at least 2).
    func encode(_ text: String, maxTokens: Int) -> [Int32] {
        let limit = max(2, maxTokens) - 1
        var ids: [Int32] = [classifierID]
        var word: [UInt8] = []
        var wordScalars = 0
        var scratch: [UInt8] = []
        func flush() {
            if wordScalars > 0 && ids.count < limit {
                split(word, scalars: wordScalars, into: &ids, scratch: &scratch)
            }
            word.removeAll(keepingCapacity: true)
            wordScalars = 0
        }
        func isolated(_ scalar: Unicode.Scalar) {
            flush()
            UTF8.encode(scalar) { word.append($0) }
            wordScalars = 1
            flush()
        }
        func normalizeAndSplit(_ segment: Substring) {
            for scalar in segment.unicodeScalars {
                if ids.count >= limit { break }
                if scalar.value == 0 || scalar.value == 0xFFFD || Self.isControl(scalar) { continue }
                if Self.isWhitespace(scalar) {
                    flush()
                    continue
                }
                if Self.isChineseIdeograph(scalar) {
                    isolated(scalar)
                    continue
                }
                for decomposed in String(scalar)._nfd where decomposed.properties.generalCategory != .nonspacingMark {
                    for lower in decomposed.properties.lowercaseMapping.unicodeScalars {
                        if Self.isWhitespace(lower) {
                            flush()
                        } else if Self.isPunctuation(lower) {
                            isolated(lower)
                        } else {
                            UTF8.encode(lower) { word.append($0) }
                            wordScalars += 1
                        }
                    }
                }
            }
            flush()
        }
        // The special tokens are matched in the raw text first, as the tokenizer's added tokens are.
        var rest = text[...]
        while let open = rest.firstIndex(of: "["), ids.count < limit {
            let after = rest[open...]
            guard let special = specialTokens.first(where: { after.hasPrefix($0.text) }) else {
                normalizeAndSplit(rest[...open])
                rest = rest[rest.index(after: open)...]
                continue
            }
            normalizeAndSplit(rest[..<open])
            if ids.count < limit { ids.append(special.id) }
            rest = after.dropFirst(special.text.count)
        }
        normalizeAndSplit(rest)
        if ids.count > limit { ids.removeLast(ids.count - limit) }
        ids.append(separatorID)
        return ids
    }

    /// Greedy longest-match-first WordPiece split of one word's UTF-8 bytes.
    private func split(_ word: [UInt8], scalars: Int, into ids: inout [Int32], scratch: inout [UInt8]) {
        guard scalars <= Self.maxWordScalars else {
            ids.append(unknownID)
            return
        }
        if let id = vocabulary.id(word) {
            ids.append(Int32(id))
            return
        }
        // Byte offsets where the word's scalars start (UTF-8 continuation bytes are 0b10xxxxxx), and the end.
        var boundaries: [Int] = []
        boundaries.reserveCapacity(scalars + 1)
        for (offset, byte) in word.enumerated() where byte & 0xC0 != 0x80 {
            boundaries.append(offset)
        }
        boundaries.append(word.count)
        let first = ids.count
        var start = 0
        while start < boundaries.count - 1 {
            var end = boundaries.count - 1
            var found: Int?
            while end > start {
                scratch.removeAll(keepingCapacity: true)
                if start > 0 { scratch.append(contentsOf: [0x23, 0x23]) }
                scratch.append(contentsOf: word[boundaries[start]..<boundaries[end]])
                if let id = vocabulary.id(scratch) {
                    found = id
                    break
                }
                end -= 1
            }
            guard let id = found else {
                ids.removeLast(ids.count - first)
                ids.append(unknownID)
                return
            }
            ids.append(Int32(id))
            start = end
        }
    }

    /// Tab, newline and carriage return, and every scalar with the Unicode `White_Space` property.
    static func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace
    }

    /// The "other" categories (control, format, unassigned, private use, surrogate) except tab, newline and
    /// carriage return.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "\t", "\n", "\r": return false
        default: break
        }
        switch scalar.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// ASCII punctuation (including `$+<=>^`|~`) and every Unicode punctuation category.
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        if (0x21...0x2F).contains(value) || (0x3A...0x40).contains(value) || (0x5B...0x60).contains(value)
            || (0x7B...0x7E).contains(value)
        {
            return true
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation, .initialPunctuation,
            .otherPunctuation, .openPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK Unified Ideographs blocks and extensions A–E and the compatibility ideographs, as BERT defines them.
    static func isChineseIdeograph(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F,
            0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F:
            return true
        default:
            return false
        }
    }
}

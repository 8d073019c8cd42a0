/// Text helpers shared by hashing, full-text indexing and embedding.
enum MemoryText {
    /// Lower-cased, trimmed, whitespace runs collapsed to one space: the form de-duplication compares.
    static func normalize(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for character in text.lowercased() {
            if character.isWhitespace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(" ")
                pendingSpace = false
            }
            out.append(character)
        }
        return out
    }

    /// Lower-cased runs of letters and digits (an apostrophe inside a word is dropped: `don't` → `dont`).
    static func words(_ text: String) -> [String] {
        var words: [String] = []
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if character == "'" || character == "’" {
                continue
            } else if !current.isEmpty {
                words.append(current)
                current = ""
            }
        }
        if !current.isEmpty {
            words.append(current)
        }
        return words
    }

    /// Words without stop words, each reduced by ``stem(_:)``: the terms of the full-text index.
    static func terms(_ text: String) -> [String] {
        words(text).filter { !stopWords.contains($0) }.map(stem)
    }

    /// A light suffix stripper so `indents`, `indented` and `indenting` meet.
    static func stem(_ word: String) -> String {
        guard word.count > 4, word.allSatisfy({ $0.isLetter }) else {
            return word
        }
        for suffix in ["ations", "ation", "ingly", "ings", "ing", "edly", "ies", "ed", "es", "ly", "s"] {
            if word.hasSuffix(suffix) && word.count - suffix.count >= 3 {
                let base = String(word.dropLast(suffix.count))
                return suffix == "ies" ? base + "y" : base
            }
        }
        return word
    }

    static let stopWords: Set<String> = [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "do", "does", "for", "from", "has", "have", "he",
        "her", "his", "how", "i", "if", "in", "into", "is", "it", "its", "me", "my", "of", "on", "or", "our", "she",
        "so", "that", "the", "their", "them", "then", "there", "these", "they", "this", "to", "was", "we", "were",
        "what", "when", "where", "which", "who", "why", "will", "with", "you", "your", "can", "should", "would",
        "did", "about", "any", "all", "than", "us", "been", "being", "am", "not", "no",
    ]
}

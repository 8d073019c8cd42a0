public import AgentAPI
import FoundationEssentials

/// The conversation heuristics of the original design: turn importance, topic tags and fact extraction.
enum MemoryTurnAnalyzer {
    static let highMarkers = [
        "remember", "important", "prefer", "don't like", "always", "never", "my name is", "call me", "i am",
        "i work", "i live", "my job",
    ]
    static let mediumMarkers = [
        "question", "help", "explain", "how to", "what is", "why", "project", "work on", "learning", "studying",
    ]
    static let topics: [(tag: String, words: [String])] = [
        ("coding", ["code", "function", "bug", "compile", "python", "swift", "error", "program", "script", "git"]),
        ("math", ["equation", "math", "integral", "calculate", "formula", "algebra", "probability"]),
        ("writing", ["essay", "write", "story", "poem", "draft", "paragraph", "grammar"]),
        ("research", ["research", "paper", "study", "source", "citation", "experiment"]),
        ("personal", ["my name", "i live", "i work", "family", "i prefer", "i like", "hobby"]),
    ]

    static func importance(_ text: String) -> MemoryImportance {
        let lower = text.lowercased()
        if highMarkers.contains(where: lower.contains) {
            return .high
        }
        if lower.count > 200 && mediumMarkers.contains(where: lower.contains) {
            return .medium
        }
        return .low
    }

    static func tags(_ text: String) -> [String] {
        let lower = text.lowercased()
        var tags = topics.filter { $0.words.contains(where: lower.contains) }.map(\.tag)
        if lower.count > 500 {
            tags.append("detailed")
        }
        return tags
    }

    /// `core_fact` sentences found in the user's words.
    static func facts(_ user: String) -> [String] {
        let lower = user.lowercased().replacing("’", with: "'")
        let patterns: [(prefix: String, oneWord: Bool, template: String)] = [
            ("my name is ", true, "User's name is "),
            ("call me ", true, "User prefers to be called "),
            ("i work at ", true, "User works at "),
            ("i live in ", false, "User lives in "),
            ("i prefer ", false, "User prefers "),
            ("i don't like ", false, "User doesn't like "),
        ]
        var facts: [String] = []
        for pattern in patterns {
            var searchStart = lower.startIndex
            while let range = lower[searchStart...].firstRange(of: pattern.prefix) {
                searchStart = range.upperBound
                if range.lowerBound > lower.startIndex {
                    let before = lower[lower.index(before: range.lowerBound)]
                    if before.isLetter || before.isNumber { continue }
                }
                var value = ""
                for character in lower[range.upperBound...] {
                    if character.isLetter || character.isNumber || character == "_" {
                        value.append(character)
                    } else if character.isWhitespace && !pattern.oneWord {
                        value.append(" ")
                    } else {
                        break
                    }
                }
                let trimmed = value.split(separator: " ").prefix(12).joined(separator: " ")
                if !trimmed.isEmpty {
                    facts.append(pattern.template + trimmed)
                }
            }
        }
        return facts
    }
}

extension MemoryStore {
    /// Stores one user/assistant turn as a `conversation` memory and the facts in the user's words as critical
    /// `core_fact` memories.
    ///
    /// The turn's importance follows the original heuristics: `high` when it mentions remembering, preferences,
    /// names, work or home; `medium` when longer than 200 characters and asking for help or explanation; else
    /// `low`. Topic tags (`coding`, `math`, `writing`, `research`, `personal`, `detailed`) are added. Facts:
    /// "my name is X", "call me X", "i work at X", "i live in …", "i prefer …", "i don't like …".
    /// - Parameter request: The turn.
    /// - Returns: The stored turn and facts (de-duplicated like ``add(_:)``).
    /// - Throws: ``MemoryError`` `.invalidInput` (namespace, empty user text), `.tooLarge`, `.storage`.
    public func rememberTurn(_ request: MemoryTurnRequest) throws(MemoryError) -> MemoryTurnResponse {
        try Self.validateNamespace(request.namespace)
        guard !request.user.allSatisfy(\.isWhitespace) else {
            throw MemoryError.invalidInput("user text is empty")
        }
        let content = "User: \(request.user)\nAssistant: \(request.assistant)"
        try Self.validateContent(content)
        let turnRequest = MemoryCreateRequest(
            namespace: request.namespace, kind: .conversation, content: content,
            tags: MemoryTurnAnalyzer.tags(content), importance: MemoryTurnAnalyzer.importance(content))
        let factRequests = MemoryTurnAnalyzer.facts(request.user).map {
            MemoryCreateRequest(
                namespace: request.namespace, kind: .coreFact, content: $0, tags: ["fact"], importance: .critical)
        }
        let now = Date()
        let turnVector = embedder.embed(content)
        let factVectors = factRequests.map { embedder.embed($0.content) }
        return try locked { () throws(MemoryError) -> MemoryTurnResponse in
            let turn = try addLocked(turnRequest, vector: turnVector, now: now).memory
            var facts: [MemoryRecord] = []
            for (factRequest, vector) in zip(factRequests, factVectors) {
                facts.append(try addLocked(factRequest, vector: vector, now: now).memory)
            }
            return MemoryTurnResponse(turn: turn, facts: facts)
        }
    }
}

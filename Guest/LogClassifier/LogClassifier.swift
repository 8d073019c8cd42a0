internal import Synchronization

/// Classifies single log lines into a ``LogCategory`` and a finer ``LogKind``, with a masked template, a
/// concrete suggestion and the entities the line names.
///
/// Pipeline: mask variable parts into a template → look the template up in a bounded LRU cache → high-precision
/// rules (ordered, first match wins) → a small learned linear model over hashed n-grams → `OTHER` when unsure.
/// Classification is case-insensitive and ignores the log level.
///
/// Thread-safe: the cache sits behind a mutex; everything else is immutable.
public final class LogClassifier: Sendable {
    private let cache: Mutex<TemplateCache>
    private let rules: LogRuleSet
    private let model: LogModel
    /// The minimum model probability for a failure category when no rule matched.
    public let modelThreshold: Double

    /// Creates a classifier.
    /// - Parameters:
    ///   - cacheCapacity: How many distinct templates to remember (0 disables the cache).
    ///   - modelThreshold: The minimum probability the learned model needs to call a line a failure.
    public init(cacheCapacity: Int = 4096, modelThreshold: Double = 0.7) {
        self.cache = Mutex(TemplateCache(capacity: cacheCapacity))
        self.rules = LogRuleSet.shared
        self.model = LogModel.shared
        self.modelThreshold = modelThreshold
    }

    /// The number of templates currently cached.
    public var cachedTemplateCount: Int {
        cache.withLock { $0.count }
    }

    /// Classifies one log line.
    /// - Parameter line: The raw line (without its trailing newline; at most the first 1024 bytes are used).
    /// - Returns: The verdict.
    public func classify(_ line: String) -> LogClassification {
        var line = line
        return line.withUTF8 { classify(bytes: $0) }
    }

    /// Classifies one log line given as UTF-8 bytes (no copy is made).
    /// - Parameter bytes: The raw line bytes.
    /// - Returns: The verdict.
    public func classify(utf8 bytes: [UInt8]) -> LogClassification {
        bytes.withUnsafeBufferPointer { classify(bytes: $0) }
    }

    /// Classifies one log line given as a buffer of UTF-8 bytes (no copy is made).
    /// - Parameter bytes: The raw line bytes, valid for the duration of the call.
    /// - Returns: The verdict.
    public func classify(utf8 bytes: UnsafeBufferPointer<UInt8>) -> LogClassification {
        classify(bytes: bytes)
    }

    func classify(bytes: UnsafeBufferPointer<UInt8>) -> LogClassification {
        // The closure returns only references, the full result is built outside it (fewer copies of a large
        // value). A hit costs one lock round trip: the entity memo is checked under the same lock.
        let capacity = LogMasker.outputCapacity(forInput: bytes.count)
        let outcome = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) {
            buffer -> TemplateCache.Hit in
            guard let base = buffer.baseAddress else {
                return .verdict(Self.emptyVerdict)
            }
            let length = LogMasker.mask(bytes, into: base)
            let template = UnsafeBufferPointer(start: base, count: length)
            let hash = TemplateCache.hash(template)
            if let hit = cache.withLock({ $0.lookup(hash: hash, bytes: template, line: bytes) }) {
                guard case .verdict(let verdict) = hit, verdict.needsMemo(lineCount: bytes.count) else {
                    return hit
                }
                return .result(entityMemo(verdict, hash: hash, template: template, line: bytes))
            }
            var verdict = decide(template)
            if verdict.category != .other {
                let entities = LogEntityExtractor.extract(bytes, category: verdict.category, kind: verdict.kind)
                if Self.dependsOnlyOnTemplate(entities, template: verdict.template) {
                    verdict = verdict.with(
                        LogVerdict.Reusable(
                            entities: entities,
                            suggestion: LogSuggestion.make(
                                category: verdict.category, kind: verdict.kind, entities: entities)
                        ))
                }
            }
            cache.withLock { $0.insert(hash: hash, bytes: template, verdict: verdict) }
            if let result = verdict.result {
                return .result(result)
            }
            guard verdict.needsMemo(lineCount: bytes.count) else {
                return .verdict(verdict)
            }
            return .result(entityMemo(verdict, hash: hash, template: template, line: bytes))
        }
        switch outcome {
        case .result(let result):
            return result
        case .verdict(let verdict):
            return finish(verdict, line: bytes)
        }
    }

    private static let emptyVerdict = LogVerdict(category: .other, kind: .none, confidence: 1, template: "")

    /// For a failure verdict whose entities depend on the line, when the template's ``EntityMemo`` did not have the
    /// line's key: the classification with the entities extracted now, remembered for the template when every value
    /// lies in the key.
    private func entityMemo(
        _ verdict: LogVerdict, hash: UInt64, template: UnsafeBufferPointer<UInt8>, line: UnsafeBufferPointer<UInt8>
    ) -> LogClassification {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(line.count, 1)) { buffer in
            let result = finish(verdict, line: line)
            guard let base = buffer.baseAddress else {
                return result
            }
            // The memo of the cache's entry did not match (or there was none): extract.
            let key = UnsafeBufferPointer(start: base, count: EntityMemo.key(line, into: base))
            if EntityMemo.covers(result.entities, key: key) {
                let memo = EntityMemo(key: Array(key), result: result)
                cache.withLock { $0.remember(hash: hash, bytes: template, memo: memo) }
            }
            return result
        }
    }

    private func finish(_ verdict: LogVerdict, line: UnsafeBufferPointer<UInt8>) -> LogClassification {
        guard verdict.category != .other else {
            return LogClassification(
                category: .other, kind: .none, confidence: verdict.confidence, template: verdict.template,
                suggestion: nil, entities: LogEntities()
            )
        }
        if let reusable = verdict.reusable {
            return LogClassification(
                category: verdict.category, kind: verdict.kind, confidence: verdict.confidence,
                template: verdict.template, suggestion: reusable.suggestion, entities: reusable.entities
            )
        }
        let entities = LogEntityExtractor.extract(line, category: verdict.category, kind: verdict.kind)
        return LogClassification(
            category: verdict.category,
            kind: verdict.kind,
            confidence: verdict.confidence,
            template: verdict.template,
            suggestion: LogSuggestion.make(category: verdict.category, kind: verdict.kind, entities: entities),
            entities: entities
        )
    }

    /// Masks standing for values the extractor may report for one line and not for another.
    private static let valuePlaceholders = ["<path>", "<ip>", "<url>"]

    /// Whether every entity value lies in the template's unmasked text (so any line with this template yields
    /// the same entities). Numbers are reusable only as single digits, which the template keeps.
    static func dependsOnlyOnTemplate(_ entities: LogEntities, template: String) -> Bool {
        // A masked path, IP or URL is a value the extractor may take from one line and not from another (a relative
        // path that it does not report, an absolute one that it does), so such a template never shares entities.
        guard !Self.valuePlaceholders.contains(where: { template.contains($0) }) else {
            return false
        }
        let texts = [
            entities.module, entities.library, entities.command, entities.header, entities.host, entities.path,
        ]
        guard texts.allSatisfy({ $0 == nil || template.contains($0 ?? "") }) else {
            return false
        }
        guard entities.port == nil else {
            return false
        }
        if let status = entities.exitStatus, !(0...9).contains(status) {
            return false
        }
        if let signal = entities.signal, !signal.allSatisfy(\.isLetter) {
            return false
        }
        return true
    }

    /// The template-only part of the verdict: rules first, then the model.
    func decide(_ template: UnsafeBufferPointer<UInt8>) -> LogVerdict {
        let text = String(decoding: template, as: UTF8.self)
        let (rule, hasFailureCue) = rules.evaluate(template)
        if let rule {
            return LogVerdict(category: rule.category, kind: rule.kind, confidence: rule.confidence, template: text)
        }
        guard hasFailureCue else {
            return LogVerdict(category: .other, kind: .none, confidence: 0.9, template: text)
        }
        let probabilities = model.probabilities(template)
        var best = 0
        for index in probabilities.indices where probabilities[index] > probabilities[best] {
            best = index
        }
        let category = LogModel.classes[best]
        guard category != .other, probabilities[best] >= modelThreshold else {
            let otherIndex = LogModel.classes.count - 1
            let confidence = category == .other ? probabilities[otherIndex] : 1 - probabilities[best]
            return LogVerdict(category: .other, kind: .none, confidence: confidence, template: text)
        }
        let kind: LogKind =
            switch category {
            case .cudaError: .cudaOther
            case .networkFailure: .networkOther
            case .dependencyMissing: .dependencyOther
            default: .runtimeOther
            }
        // A model-only verdict is never as sure as a rule.
        return LogVerdict(category: category, kind: kind, confidence: probabilities[best] * 0.9, template: text)
    }
}

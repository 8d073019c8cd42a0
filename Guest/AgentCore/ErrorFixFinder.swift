import AgentAPI
import AgentBasics
import AgentLogMonitor
import FoundationEssentials
import LogClassifier
import Memory
import NIOPosix
import Synchronization

/// Finds the recorded fixes of errors: the `error_fix` memories of the `errors` namespace whose metadata names the
/// same template, or another template of the same category and kind.
///
/// The fixes are read with one export of the namespace (on NIO's thread pool) at most once per ``maximumAge`` and
/// indexed by template and by category and kind (the 32 newest of each), so answering `GET /v1/errors` scores at
/// most 64 fixes per listed error, never searches per log line, and the fixes found for an error are kept until
/// the next read. ``invalidate()`` (after a fix is recorded) makes the next lookup read them again. Nothing is read
/// while filesystems are frozen (the last index serves, if there is one), and there are no fixes while the memory
/// store is opening or unavailable. Reading never changes a memory (no access counts).
final class ErrorFixFinder: Sendable {
    /// The most fixes listed with one error.
    static let maximumFixes = 3
    /// The most fixes of one template, and of one kind, that are scored for an error: the newest ones.
    static let maximumCandidates = 32

    /// The memory metadata keys of a fix.
    enum Key {
        static let template = "template"
        static let category = "category"
        static let kind = "kind"
        static let line = "line"
    }

    /// One recorded fix, ready to be matched.
    struct Candidate: Sendable {
        var memoryID: String
        var fix: String
        var template: String
        var category: String
        var kind: String
        /// The words of the fix.
        var words: Set<String>
        /// The line it was recorded with, if any.
        var line: String?
        var createdAt: Double
    }

    /// One template a fix is linked to.
    struct Link: Sendable, Equatable {
        var template: String
        var category: String
        var kind: String
        var line: String?
    }

    /// The fixes of the namespace by template and by `category/kind`.
    struct Index: Sendable {
        var byTemplate: [String: [Candidate]] = [:]
        var byKind: [String: [Candidate]] = [:]
        var readAt: ContinuousClock.Instant
    }

    let memory: AgentMemory
    let namespace: String
    let maximumAge: Duration
    private let holdsWrites: @Sendable () -> Bool
    private let cached = Mutex(Cache())

    /// The index in use, the fixes already found with it (by template and line), and how many times the fixes
    /// were forgotten (a read that began before the last ``invalidate()`` is not kept).
    private struct Cache {
        var index: Index?
        var found: [String: [ErrorFix]] = [:]
        var generation = 0
    }

    /// The most errors whose fixes are kept between lookups with one index.
    static let maximumFound = 4096

    /// Creates a finder.
    /// - Parameters:
    ///   - memory: The agent's memory store.
    ///   - namespace: Where fixes are read from.
    ///   - maximumAge: How long one read of the fixes serves.
    ///   - holdsWrites: Whether filesystems are frozen (nothing is read then).
    init(
        memory: AgentMemory, namespace: String = ErrorFixRequest.defaultNamespace, maximumAge: Duration = .seconds(10),
        holdsWrites: @escaping @Sendable () -> Bool
    ) {
        self.memory = memory
        self.namespace = namespace
        self.maximumAge = maximumAge
        self.holdsWrites = holdsWrites
    }

    /// Forgets the fixes read, so that the next lookup reads them again.
    func invalidate() {
        cached.withLock { $0 = Cache(generation: $0.generation + 1) }
    }

    /// The fixes of each record, in the records' order: at most ``maximumFixes`` each, template matches first.
    func fixes(for records: [ErrorRecord]) async -> [[ErrorFix]] {
        guard !records.isEmpty, let index = await index() else { return records.map { _ in [] } }
        return records.map { record in
            let key = record.classification.template + "\u{1F}" + record.line
            if let known = cached.withLock({ $0.index?.readAt == index.readAt ? $0.found[key] : nil }) { return known }
            let fixes = Self.fixes(for: record, in: index)
            cached.withLock { cache in
                guard cache.index?.readAt == index.readAt, cache.found.count < Self.maximumFound else { return }
                cache.found[key] = fixes
            }
            return fixes
        }
    }

    /// The current index: the cached one while fresh (or while filesystems are frozen), else a new read.
    private func index() async -> Index? {
        guard let store = memory.store else { return nil }
        let (known, generation) = cached.withLock { ($0.index, $0.generation) }
        if holdsWrites() { return known }
        if let known, ContinuousClock.now - known.readAt < maximumAge { return known }
        let namespace = namespace
        let records: [MemoryRecord]
        do {
            let result = try await NIOThreadPool.singleton.runIfActive {
                Result { () throws(MemoryError) -> [MemoryRecord] in try store.export(namespace: namespace) }
            }
            records = try result.get()
        } catch {
            return known
        }
        let index = Self.index(records, at: .now)
        cached.withLock { cache in
            if cache.generation == generation { cache = Cache(index: index, generation: generation) }
        }
        return index
    }

    /// Indexes the `error_fix` memories among `records` that carry a template, keeping the
    /// ``maximumCandidates`` newest of each template and of each kind.
    static func index(_ records: [MemoryRecord], at instant: ContinuousClock.Instant) -> Index {
        var index = Index(readAt: instant)
        for record in records where record.kind == .errorFix {
            let fixWords = words(record.content)
            for link in links(of: record.metadata) {
                let candidate = Candidate(
                    memoryID: record.id, fix: record.content, template: link.template, category: link.category,
                    kind: link.kind, words: fixWords, line: link.line,
                    createdAt: record.createdAt.timeIntervalSince1970)
                index.byTemplate[link.template, default: []].append(candidate)
                if let key = kindKey(category: link.category, kind: link.kind) {
                    index.byKind[key, default: []].append(candidate)
                }
            }
        }
        let newest = { (candidates: [Candidate]) in
            Array(candidates.sorted { $0.createdAt > $1.createdAt }.prefix(maximumCandidates))
        }
        index.byTemplate = index.byTemplate.mapValues(newest)
        index.byKind = index.byKind.mapValues(newest)
        return index
    }

    /// The best fixes of one error.
    static func fixes(for record: ErrorRecord, in index: Index) -> [ErrorFix] {
        let classification = record.classification
        let template = classification.template.clipped(toUTF8: ErrorStore.maxTemplateBytes)
        let lineWords = words(record.line)
        func scored(_ candidates: [Candidate], _ match: ErrorFixMatch) -> [ErrorFix] {
            candidates.map { candidate in
                let shared = Double(lineWords.intersection(candidate.words).count)
                let relevance =
                    (candidate.line == record.line ? 0.5 : 0) + 0.5 * shared / Double(max(1, lineWords.count))
                let base = match == .template ? 1.0 : 0.5
                return ErrorFix(
                    memoryID: candidate.memoryID, fix: candidate.fix, template: candidate.template, match: match,
                    score: base * (0.75 + 0.25 * relevance), createdAt: candidate.createdAt)
            }
        }
        var fixes = scored(index.byTemplate[template] ?? [], .template)
        if let key = kindKey(category: classification.category.rawValue, kind: classification.kind.rawValue) {
            fixes += scored((index.byKind[key] ?? []).filter { $0.template != template }, .kind)
        }
        fixes.sort { left, right in
            if left.score != right.score { return left.score > right.score }
            if left.createdAt != right.createdAt { return left.createdAt > right.createdAt }
            return left.memoryID < right.memoryID
        }
        // A fix linked to several templates is listed once, at its best.
        var listed = Set<String>()
        return Array(fixes.filter { listed.insert($0.memoryID).inserted }.prefix(maximumFixes))
    }

    /// The metadata of a fix recorded for `classification` (and the line it was given by, if any).
    static func metadata(for classification: LogClassification, template: String, line: String?) -> [String: String] {
        var metadata = [
            Key.template: template, Key.category: classification.category.rawValue,
            Key.kind: classification.kind.rawValue,
        ]
        if let line { metadata[Key.line] = line }
        return metadata
    }

    /// The templates a fix's metadata links it to: `template` (with `category`, `kind`, `line`), then
    /// `template.1`, `template.2`, … (with `category.1`, …) added when the same text was recorded for other
    /// templates.
    static func links(of metadata: [String: String]) -> [Link] {
        var links: [Link] = []
        while true {
            let suffix = links.isEmpty ? "" : ".\(links.count)"
            guard let template = metadata[Key.template + suffix] else { return links }
            links.append(
                Link(
                    template: template, category: metadata[Key.category + suffix] ?? "",
                    kind: metadata[Key.kind + suffix] ?? "", line: metadata[Key.line + suffix]))
        }
    }

    /// `stored` with the link of `recorded` (the metadata of ``metadata(for:template:line:)``) added under the next
    /// free suffix, or `nil` when `stored` already links to its template: the store keeps one memory for one text,
    /// so a text recorded again for another template gains a link instead of a memory.
    static func linking(_ stored: [String: String], to recorded: [String: String]) -> [String: String]? {
        let links = links(of: stored)
        guard let template = recorded[Key.template], !links.contains(where: { $0.template == template }) else {
            return nil
        }
        var metadata = stored
        for (key, value) in recorded { metadata[links.isEmpty ? key : "\(key).\(links.count)"] = value }
        return metadata
    }

    /// A just recorded fix as the wire carries it.
    static func recorded(_ record: MemoryRecord, template: String) -> ErrorFix {
        ErrorFix(
            memoryID: record.id, fix: record.content, template: template, match: .template, score: 1,
            createdAt: record.createdAt.timeIntervalSince1970)
    }

    /// `category/kind`, or `nil` for the kind `none` (which matches nothing).
    private static func kindKey(category: String, kind: String) -> String? {
        kind.isEmpty || kind == LogKind.none.rawValue ? nil : category + "/" + kind
    }

    /// The lowercased runs of letters and digits of `text`, two characters or longer.
    static func words(_ text: String) -> Set<String> {
        var words = Set<String>()
        var current = ""
        for character in text.lowercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else {
                if current.count > 1 { words.insert(current) }
                current = ""
            }
        }
        if current.count > 1 { words.insert(current) }
        return words
    }
}

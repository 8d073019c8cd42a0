import AgentBasics
public import FoundationEssentials
public import LogClassifier
import Synchronization

/// One distinct error seen in the guest's logs: every event with the same category and template folds into it.
public struct ErrorRecord: Codable, Sendable, Hashable {
    /// Where the error was first read (a log path, a unit name, `classify`).
    public var source: String
    /// The first raw line (for a trace, its headline) of the first occurrence.
    public var line: String
    /// The lines of the first occurrence when it was a multi-line trace (at most 50), otherwise empty.
    public var trace: [String]
    /// The verdict of the first occurrence.
    public var classification: LogClassification
    /// When it was first seen.
    public var firstSeen: Date
    /// When it was last seen.
    public var lastSeen: Date
    /// How many times it was seen.
    public var count: Int

    package enum CodingKeys: String, CodingKey {
        case source, line, trace, classification, count
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }

    /// Creates a record.
    public init(
        source: String, line: String, trace: [String], classification: LogClassification, firstSeen: Date,
        lastSeen: Date, count: Int
    ) {
        self.source = source
        self.line = line
        self.trace = trace
        self.classification = classification
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.count = count
    }
}

/// Counts classified log events and keeps a bounded list of recent distinct errors.
///
/// Lines go in per source through ``ingest(_:source:at:)``; a ``LogTraceGrouper`` per source turns Python
/// tracebacks and Java stack traces into one event. Every event is counted by category (including `OTHER`) and by
/// template; events other than `OTHER` also update the recent list, where one entry stands for all events with the
/// same category and template (the count grows, the text is not stored again). When the list is full, the entry
/// seen longest ago is dropped.
///
/// Bytes are bounded as well as entries: a stored line is cut at ``maxLineBytes``, a stored trace at
/// ``maxTraceBytes`` in all, and a template at ``maxTemplateBytes`` (longer templates count under their prefix), so
/// the recent list holds at most `capacity` × (``maxLineBytes`` + ``maxTraceBytes``) bytes of text and the
/// template counts at most `templateCapacity` × ``maxTemplateBytes``.
///
/// Thread-safe: the state sits behind a `Mutex`, so one store may be fed and queried from many tasks.
public final class ErrorStore: Sendable {
    /// The most bytes of a stored line (the headline and each trace line).
    public static let maxLineBytes = 2048
    /// The most bytes of one stored trace, all its lines together.
    public static let maxTraceBytes = 16_384
    /// The most bytes of a template kept as a count's key.
    public static let maxTemplateBytes = 1024

    /// The most distinct errors kept in the recent list.
    public let capacity: Int
    /// The most templates whose counts are kept (the least recently seen is forgotten first).
    public let templateCapacity: Int
    private let classifier: LogClassifier
    private let state: Mutex<State>

    private struct Key: Hashable {
        var category: LogCategory
        var template: String
    }

    private struct State {
        var groupers: [String: LogTraceGrouper] = [:]
        var categoryCounts: [LogCategory: Int] = [:]
        var templateCounts: [Key: (count: Int, lastSeen: Date)] = [:]
        var recent: [Key: ErrorRecord] = [:]
    }

    /// Creates an empty store.
    /// - Parameters:
    ///   - classifier: The classifier for ingested lines.
    ///   - capacity: The most distinct errors kept in the recent list.
    ///   - templateCapacity: The most templates whose counts are kept.
    public init(classifier: LogClassifier = LogClassifier(), capacity: Int = 200, templateCapacity: Int = 4096) {
        precondition(capacity > 0 && templateCapacity > 0, "capacities must be positive")
        self.classifier = classifier
        self.capacity = capacity
        self.templateCapacity = templateCapacity
        state = Mutex(State())
    }

    /// Adds one raw line read from `source`; a trace is recorded when its last line arrives.
    /// - Parameters:
    ///   - line: The line without its newline.
    ///   - source: Where it came from; each source has its own trace grouping.
    ///   - date: When it was read.
    /// - Returns: The events the line completed (zero, one or two), already recorded.
    @discardableResult
    public func ingest(_ line: String, source: String, at date: Date = Date()) -> [LogEvent] {
        state.withLock { state in
            var grouper = state.groupers.removeValue(forKey: source) ?? LogTraceGrouper(classifier: classifier)
            let events = grouper.append(line)
            state.groupers[source] = grouper
            for event in events { record(event, source: source, at: date, in: &state) }
            return events
        }
    }

    /// Records the trace still being collected for `source`, if any (call at the end of a stream or after a quiet
    /// period).
    /// - Parameters:
    ///   - source: The source to flush.
    ///   - date: When the trace ended.
    /// - Returns: The events recorded.
    @discardableResult
    public func flush(source: String, at date: Date = Date()) -> [LogEvent] {
        state.withLock { state in
            guard var grouper = state.groupers.removeValue(forKey: source) else { return [] }
            let events = grouper.finish()
            for event in events { record(event, source: source, at: date, in: &state) }
            return events
        }
    }

    /// Records an already classified event.
    /// - Parameters:
    ///   - event: The event.
    ///   - source: Where it came from.
    ///   - date: When it was seen.
    public func record(_ event: LogEvent, source: String, at date: Date = Date()) {
        state.withLock { record(event, source: source, at: date, in: &$0) }
    }

    /// The most recently seen distinct errors, newest first.
    /// - Parameters:
    ///   - since: Only errors last seen at or after this date.
    ///   - category: Only errors of this category.
    ///   - limit: The most records returned.
    /// - Returns: The records, by descending ``ErrorRecord/lastSeen``.
    public func recent(since: Date? = nil, category: LogCategory? = nil, limit: Int = 50) -> [ErrorRecord] {
        let records = state.withLock { state in
            state.recent.values.filter { record in
                (since.map { record.lastSeen >= $0 } ?? true)
                    && (category.map { record.classification.category == $0 } ?? true)
            }
        }
        return Array(records.sorted { $0.lastSeen > $1.lastSeen }.prefix(max(0, limit)))
    }

    /// The verdict of the most recently seen error in the recent list whose template is `template`, if any.
    /// - Parameter template: The masked template (compared after clipping to ``maxTemplateBytes``).
    public func recentClassification(template: String) -> LogClassification? {
        let key = template.clipped(toUTF8: Self.maxTemplateBytes)
        return state.withLock { state in
            state.recent.filter { $0.key.template == key }.values.max { $0.lastSeen < $1.lastSeen }?.classification
        }
    }

    /// How many events of each category were recorded (every category is present, `OTHER` included).
    public func countsByCategory() -> [LogCategory: Int] {
        let counts = state.withLock { $0.categoryCounts }
        var result: [LogCategory: Int] = [:]
        for category in LogCategory.allCases { result[category] = counts[category] ?? 0 }
        return result
    }

    /// How many events had `template` (in `category`), or 0 when it was never seen or has been forgotten.
    /// - Parameters:
    ///   - template: The masked template.
    ///   - category: Its category.
    public func count(template: String, category: LogCategory) -> Int {
        state.withLock {
            $0.templateCounts[Key(category: category, template: template.clipped(toUTF8: Self.maxTemplateBytes))]?
                .count ?? 0
        }
    }

    /// The number of templates whose counts are currently kept.
    public var templateCount: Int {
        state.withLock { $0.templateCounts.count }
    }

    /// Whether `source` has a trace still being collected.
    /// - Parameter source: The source.
    public func hasPendingTrace(source: String) -> Bool {
        state.withLock { $0.groupers[source]?.isCollecting ?? false }
    }

    /// The counts, the recent list and the traces still being collected, for persisting.
    public func snapshot() -> ErrorStoreSnapshot {
        state.withLock { state in
            var categories: [String: Int] = [:]
            for (category, count) in state.categoryCounts { categories[category.rawValue] = count }
            let templates = state.templateCounts.map { key, value in
                ErrorStoreSnapshot.TemplateCount(
                    category: key.category, template: key.template, count: value.count, lastSeen: value.lastSeen)
            }.sorted { $0.lastSeen < $1.lastSeen }
            let recent = state.recent.values.sorted { $0.lastSeen < $1.lastSeen }
            let pending = state.groupers.compactMap { source, grouper in
                grouper.isCollecting
                    ? ErrorStoreSnapshot.PendingTrace(source: source, lines: grouper.pendingLines) : nil
            }.sorted { $0.source < $1.source }
            return ErrorStoreSnapshot(
                categoryCounts: categories, templates: templates, recent: recent, pending: pending)
        }
    }

    /// Replaces the counts and the recent list with a snapshot's (entries beyond the capacities are dropped,
    /// the ones seen longest ago first), and resumes the snapshot's pending traces: the next lines of their
    /// sources continue them. Traces being collected for other sources are kept.
    /// - Parameter snapshot: A value from ``snapshot()``.
    public func restore(_ snapshot: ErrorStoreSnapshot) {
        state.withLock { state in
            state.categoryCounts = [:]
            for (name, count) in snapshot.categoryCounts {
                if let category = LogCategory(rawValue: name) { state.categoryCounts[category] = count }
            }
            state.templateCounts = [:]
            for entry in snapshot.templates.sorted(by: { $0.lastSeen > $1.lastSeen }).prefix(templateCapacity) {
                let key = Key(
                    category: entry.category, template: entry.template.clipped(toUTF8: Self.maxTemplateBytes))
                state.templateCounts[key] = (entry.count, entry.lastSeen)
            }
            state.recent = [:]
            for var record in snapshot.recent.sorted(by: { $0.lastSeen > $1.lastSeen }).prefix(capacity) {
                record.line = record.line.clipped(toUTF8: Self.maxLineBytes)
                record.trace = Self.clippedTrace(record.trace)
                let template = record.classification.template.clipped(toUTF8: Self.maxTemplateBytes)
                state.recent[Key(category: record.classification.category, template: template)] = record
            }
            for trace in snapshot.pending ?? [] where !trace.lines.isEmpty {
                state.groupers[trace.source] = LogTraceGrouper(classifier: classifier, resuming: trace.lines)
            }
        }
    }

    /// The lines of a trace, each cut at ``maxLineBytes``, up to ``maxTraceBytes`` in all.
    package static func clippedTrace(_ lines: [String]) -> [String] {
        var room = maxTraceBytes
        var kept: [String] = []
        for line in lines {
            let clipped = line.clipped(toUTF8: min(maxLineBytes, room))
            guard !clipped.isEmpty || line.isEmpty, room > 0 else { break }
            room -= clipped.utf8.count
            kept.append(clipped)
        }
        return kept
    }

    private func record(_ event: LogEvent, source: String, at date: Date, in state: inout State) {
        let classification = event.classification
        state.categoryCounts[classification.category, default: 0] += 1
        let key = Key(
            category: classification.category, template: classification.template.clipped(toUTF8: Self.maxTemplateBytes))
        if let known = state.templateCounts[key] {
            state.templateCounts[key] = (known.count + 1, date)
        } else {
            if state.templateCounts.count >= templateCapacity,
                let oldest = state.templateCounts.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key
            {
                state.templateCounts.removeValue(forKey: oldest)
            }
            state.templateCounts[key] = (1, date)
        }
        guard classification.category != .other else { return }
        if var known = state.recent[key] {
            known.count += 1
            known.lastSeen = max(known.lastSeen, date)
            state.recent[key] = known
            return
        }
        if state.recent.count >= capacity,
            let oldest = state.recent.min(by: { $0.value.lastSeen < $1.value.lastSeen })?.key
        {
            state.recent.removeValue(forKey: oldest)
        }
        state.recent[key] = ErrorRecord(
            source: source, line: event.headline.clipped(toUTF8: Self.maxLineBytes),
            trace: event.lines.count > 1 ? Self.clippedTrace(Array(event.lines.prefix(50))) : [],
            classification: classification, firstSeen: date, lastSeen: date, count: 1)
    }
}

/// The persisted form of an ``ErrorStore``: counts per category and per template, and the recent list.
public struct ErrorStoreSnapshot: Codable, Sendable, Equatable {
    /// How many events of one template were seen.
    public struct TemplateCount: Codable, Sendable, Equatable {
        /// The template's category.
        public var category: LogCategory
        /// The masked template.
        public var template: String
        /// How many events had it.
        public var count: Int
        /// When it was last seen.
        public var lastSeen: Date

        /// Creates a count.
        public init(category: LogCategory, template: String, count: Int, lastSeen: Date) {
            self.category = category
            self.template = template
            self.count = count
            self.lastSeen = lastSeen
        }

        package enum CodingKeys: String, CodingKey {
            case category, template, count
            case lastSeen = "last_seen"
        }
    }

    /// Events per category, keyed by the category's wire spelling.
    public var categoryCounts: [String: Int]
    /// Counts per template, the least recently seen first.
    public var templates: [TemplateCount]
    /// The recent distinct errors, the least recently seen first.
    public var recent: [ErrorRecord]
    /// The traces still being collected, by source; `nil` in snapshots written before these were saved.
    public var pending: [PendingTrace]?

    /// A multi-line trace whose first lines were read but whose end was not, none of it recorded yet.
    public struct PendingTrace: Codable, Sendable, Equatable {
        /// The source the lines came from.
        public var source: String
        /// The lines so far, in order.
        public var lines: [String]

        /// Creates a pending trace.
        public init(source: String, lines: [String]) {
            self.source = source
            self.lines = lines
        }
    }

    /// Creates a snapshot.
    public init(
        categoryCounts: [String: Int] = [:], templates: [TemplateCount] = [], recent: [ErrorRecord] = [],
        pending: [PendingTrace]? = nil
    ) {
        self.categoryCounts = categoryCounts
        self.templates = templates
        self.recent = recent
        self.pending = pending
    }

    package enum CodingKeys: String, CodingKey {
        case categoryCounts = "category_counts"
        case templates, recent, pending
    }
}

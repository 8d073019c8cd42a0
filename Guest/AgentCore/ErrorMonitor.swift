import Foundation
import LogClassifier
import Logging
import NIOPosix

/// What the error monitor persists under the data directory: the journal cursor and the store's counts.
struct ErrorMonitorState: Codable, Sendable {
    /// The cursor of the last journal entry counted, `nil` before the first one.
    var journalCursor: String?
    /// The error store's counts and recent list.
    var store: ErrorStoreSnapshot

    enum CodingKeys: String, CodingKey {
        case journalCursor = "journal_cursor"
        case store
    }
}

/// Feeds the configured log files and the systemd journal into the agent's ``ErrorStore``, one ``tick()`` at a
/// time, and persists what it counted.
///
/// Files are read by a ``LogTailer`` (its offsets in `<data_dir>/log-tailer.json`); the journal by a
/// ``JournalFollower`` starting at its end on first run. After every tick that counted something, the store's
/// snapshot and the journal cursor are written atomically to `<data_dir>/errors.json`, so a restarted agent
/// neither loses nor re-counts. A source quiet for ``quietPeriod`` has its pending trace recorded, so a traceback
/// at the end of a log is not held back forever.
///
/// Used by one task at a time (the monitor service); not `Sendable`.
final class ErrorMonitor {
    /// The state file's name inside the data directory.
    static let stateFileName = "errors.json"
    /// The most journal entries read per tick.
    static let journalBatch = 10_000

    let store: ErrorStore
    let quietPeriod: Duration
    private let logger: Logger
    private let names: [String: String]
    private let tailer: LogTailer?
    private let journalEnabled: Bool
    private let journalDirectory: String?
    private var journal: JournalFollower?
    private var journalCursor: String?
    private var journalRetryAt: ContinuousClock.Instant?
    private var lastLineAt: [String: ContinuousClock.Instant] = [:]
    private let statePath: String
    private var reported: [String: String] = [:]

    /// Loads the persisted state into `store` and prepares the tailer.
    /// - Parameters:
    ///   - configuration: `log_files`, `journal` and `data_dir`.
    ///   - store: The store to feed (its counts are replaced by the persisted ones).
    ///   - journalDirectory: A directory of journal files to read instead of the local journal (tests).
    ///   - quietPeriod: How long a source must be silent before its pending trace is recorded.
    ///   - logger: For problems with files and the journal.
    /// - Throws: ``AgentError`` (`io_error`) when the data directory or a state file cannot be used.
    init(
        configuration: AgentConfiguration, store: ErrorStore, journalDirectory: String? = nil,
        quietPeriod: Duration = .seconds(2), logger: Logger
    ) throws(AgentError) {
        self.store = store
        self.logger = logger
        self.quietPeriod = quietPeriod
        self.journalEnabled = configuration.journal
        self.journalDirectory = journalDirectory
        var names: [String: String] = [:]
        for (name, path) in configuration.logFiles { names[path] = name }
        self.names = names
        let directory = configuration.dataDirectory
        statePath = (directory as NSString).appendingPathComponent(Self.stateFileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw AgentError(.io, "cannot create the data directory \(directory)", cause: error)
        }
        tailer =
            configuration.logFiles.isEmpty
            ? nil
            : try LogTailer(paths: configuration.logFiles.values.sorted(), stateDirectory: directory)
        if let persisted = try Self.load(statePath) {
            store.restore(persisted.store)
            journalCursor = persisted.journalCursor
        }
    }

    /// Reads what is new in every source, classifies it into the store, and persists the result.
    /// - Returns: How many lines were read.
    @discardableResult
    func tick() async -> Int {
        let now = ContinuousClock.now
        var count = 0
        var changed = false
        if let tailer {
            do {
                let lines = try await tailer.poll()
                let date = Date()
                for line in lines {
                    let source = names[line.path] ?? line.path
                    store.ingest(line.text, source: source, at: date)
                    lastLineAt[source] = now
                }
                count += lines.count
            } catch {
                if !Task.isCancelled { report("tailer", error.description) }
            }
            let failures = await tailer.failures
            for (path, problem) in failures { report(path, problem) }
        }
        if journalEnabled, let (lines, cursor) = await readJournal(now: now) {
            let date = Date()
            for line in lines {
                store.ingest(line.message, source: line.source, at: date)
                lastLineAt[line.source] = now
            }
            count += lines.count
            if let cursor, cursor != journalCursor {
                journalCursor = cursor
                changed = true
            }
        }
        for (source, last) in lastLineAt where now - last >= quietPeriod {
            if !store.flush(source: source).isEmpty { changed = true }
            lastLineAt[source] = nil
        }
        if count > 0 || changed { save() }
        return count
    }

    /// Records every pending trace and persists them (at shutdown).
    func finish() {
        var changed = false
        for source in lastLineAt.keys where !store.flush(source: source).isEmpty { changed = true }
        lastLineAt = [:]
        if changed { save() }
    }

    private func readJournal(now: ContinuousClock.Instant) async -> ([JournalLine], String?)? {
        if journal == nil {
            if let retry = journalRetryAt, now < retry { return nil }
            do {
                journal = try JournalFollower(directory: journalDirectory, cursor: journalCursor)
                reported["journal"] = nil
            } catch {
                journalRetryAt = now + .seconds(60)
                report("journal", error.description)
                return nil
            }
        }
        guard let journal else { return nil }
        do {
            return try await journal.read(maximum: Self.journalBatch)
        } catch {
            guard !Task.isCancelled else { return nil }
            self.journal = nil
            report("journal", error.description)
            return nil
        }
    }

    private func save() {
        let state = ErrorMonitorState(journalCursor: journalCursor, store: store.snapshot())
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(state).write(to: URL(fileURLWithPath: statePath), options: .atomic)
            reported[statePath] = nil
        } catch {
            report(statePath, "cannot write \(statePath): \(error)")
        }
    }

    /// Logs a problem once, until it changes.
    private func report(_ key: String, _ problem: String) {
        guard reported[key] != problem else { return }
        reported[key] = problem
        logger.warning("Log source problem", metadata: ["log.source": "\(key)", "log.problem": "\(problem)"])
    }

    private static func load(_ path: String) throws(AgentError) -> ErrorMonitorState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode(ErrorMonitorState.self, from: data)
        } catch {
            throw AgentError(.io, "cannot read the error monitor state \(path)", cause: error)
        }
    }
}

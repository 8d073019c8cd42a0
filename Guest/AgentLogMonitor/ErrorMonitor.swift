package import AgentBasics
import FoundationEssentials
import LogClassifier
package import Logging
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// What the error monitor persists under the data directory, as one file so it is saved as one unit: the journal
/// cursor, the log files' positions and the store's counts.
package struct ErrorMonitorState: Codable, Sendable {
    /// The cursor of the last journal entry counted, `nil` before the first one.
    package var journalCursor: String?
    /// Where reading of each log file stopped; `nil` in files written before positions moved in here (they were
    /// in `log-tailer.json`).
    package var logPositions: [LogTailerPosition]?
    /// The error store's counts and recent list.
    package var store: ErrorStoreSnapshot

    package enum CodingKeys: String, CodingKey {
        case journalCursor = "journal_cursor"
        case logPositions = "log_positions"
        case store
    }
}

/// Feeds the configured log files and the systemd journal into the agent's ``ErrorStore``, one ``tick()`` at a
/// time, and persists what it counted.
///
/// Files are read by a ``LogTailer``; the journal by a ``JournalFollower`` starting at its end on first run. After
/// every tick that read or counted something, the store's snapshot, the files' positions and the journal cursor
/// are written as one file, `<data_dir>/errors.json` (temp file, `fsync`, rename), so a crash at any point leaves
/// either the state before the tick or the state after it, and a restarted agent neither loses nor re-counts. The
/// older layout, positions in a separate `<data_dir>/log-tailer.json`, is read once and removed after the first
/// save. A source quiet for ``quietPeriod`` has its pending trace recorded, so a traceback
/// at the end of a log is not held back forever. A trace still being collected is saved with the positions past
/// its lines, so a crash in the middle of a traceback neither loses it nor counts it twice: the restarted monitor
/// resumes it and the rest of its lines complete it.
///
/// Used by one task at a time (the monitor service); not `Sendable`.
package final class ErrorMonitor {
    /// The state file's name inside the data directory.
    package static let stateFileName = "errors.json"
    /// The most journal entries read per tick.
    package static let journalBatch = 10_000

    package let store: ErrorStore
    package let quietPeriod: Duration
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
    private let legacyTailerPath: String
    /// The positions after the last poll, and those in the state file.
    private var positions: [LogTailerPosition] = []
    private var savedPositions: [LogTailerPosition] = []
    private var reported: [String: String] = [:]

    /// Loads the persisted state into `store` and prepares the tailer.
    /// - Parameters:
    ///   - configuration: `log_files`, `journal` and `data_dir`.
    ///   - store: The store to feed (its counts are replaced by the persisted ones).
    ///   - journalDirectory: A directory of journal files to read instead of the local journal (tests).
    ///   - quietPeriod: How long a source must be silent before its pending trace is recorded.
    ///   - logger: For problems with files and the journal.
    /// - Throws: ``AgentError`` (`io_error`) when the data directory or a state file cannot be used.
    package init(
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
        statePath = FilePaths.join(directory, Self.stateFileName)
        legacyTailerPath = FilePaths.join(directory, LogTailer.stateFileName)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw AgentError(.io, "cannot create the data directory \(directory)", cause: error)
        }
        let persisted = try Self.load(statePath)
        if let persisted {
            store.restore(persisted.store)
            journalCursor = persisted.journalCursor
        }
        // Positions saved with the counts win; the separate file of the older layout is read only without them.
        var positions = persisted?.logPositions ?? []
        if persisted?.logPositions == nil { positions = try LogTailer.loadPositions(legacyTailerPath) ?? [] }
        self.positions = positions
        savedPositions = positions
        tailer =
            configuration.logFiles.isEmpty
            ? nil
            : LogTailer(paths: configuration.logFiles.values.sorted(), positions: positions)
        // A trace cut off by the restart ends with its source's next line, or is recorded after a quiet period.
        let now = ContinuousClock.now
        for trace in persisted?.store.pending ?? [] { lastLineAt[trace.source] = now }
    }

    /// Reads what is new in every source, classifies it into the store, and persists the result (counts,
    /// positions and cursor in one atomic write).
    /// - Returns: How many lines were read.
    @discardableResult
    package func tick() async -> Int {
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
            positions = await tailer.positions
            if positions != savedPositions { changed = true }
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
    package func finish() {
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
        let state = ErrorMonitorState(journalCursor: journalCursor, logPositions: positions, store: store.snapshot())
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(state)
            try DurableFile.write(data, to: statePath)
            savedPositions = positions
            reported[statePath] = nil
        } catch {
            report(statePath, "cannot write \(statePath): \(error)")
            return
        }
        // Everything is in the one file now. The older layout's separate positions are ignored from here on (the
        // positions in the state file win), so a failure to remove them is harmless.
        unlink(legacyTailerPath)
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

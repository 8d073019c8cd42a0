import AgentBasics
import AgentLogMonitor
import Foundation
import LogClassifier
import Logging
import Testing

private let timeoutLine = "curl: (28) Connection timed out after 10001 milliseconds"

/// A temp directory with a log file and the monitor's data directory.
private final class MonitorFixture {
    let directory: URL
    var log: String { directory.appendingPathComponent("app.log").path }
    var data: String { directory.appendingPathComponent("data").path }
    var stateFile: String { data + "/" + ErrorMonitor.stateFileName }
    var legacyFile: String { data + "/" + LogTailer.stateFileName }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("monitor-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func append(lines count: Int) throws {
        try append(text: String(repeating: timeoutLine + "\n", count: count))
    }

    func append(text: String) throws {
        if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// A fresh store and monitor over the persisted state, as after an agent restart.
    func monitor(quietPeriod: Duration = .seconds(60)) throws -> ErrorMonitor {
        let configuration = AgentConfiguration(dataDirectory: data, logFiles: ["app": log], journal: false)
        var logger = Logger(label: "error-monitor-test")
        logger.logLevel = .critical
        return try ErrorMonitor(
            configuration: configuration, store: ErrorStore(), quietPeriod: quietPeriod, logger: logger)
    }
}

private func network(_ monitor: ErrorMonitor) -> Int { monitor.store.countsByCategory()[.networkFailure] ?? 0 }

/// Every event counted, whatever its category.
private func events(_ monitor: ErrorMonitor) -> Int { monitor.store.countsByCategory().values.reduce(0, +) }

private let tracebackHead = "Traceback (most recent call last):\n  File \"/app/train.py\", line 3, in <module>\n"
private let tracebackTail = "    import cv2\nModuleNotFoundError: No module named 'cv2'\n"

@Suite("ErrorMonitor persistence", .timeLimit(.minutes(1)))
struct ErrorMonitorTests {
    @Test("Counts and file positions are one file: a crash before a save re-reads, after it nothing is re-counted")
    func restartAtEachSavePoint() async throws {
        let fixture = try MonitorFixture()
        try fixture.append(lines: 3)
        let first = try fixture.monitor()
        #expect(await first.tick() == 3)
        #expect(network(first) == 3)
        let afterFirstSave = try Data(contentsOf: URL(fileURLWithPath: fixture.stateFile))
        try fixture.append(lines: 2)
        #expect(await first.tick() == 2)
        #expect(network(first) == 5)
        #expect(!FileManager.default.fileExists(atPath: fixture.legacyFile))

        // Crash after the second save: the restarted monitor has 5 and reads nothing again.
        let afterSecond = try fixture.monitor()
        #expect(network(afterSecond) == 5)
        #expect(await afterSecond.tick() == 0)
        #expect(network(afterSecond) == 5)

        // Crash before the second save (the file still holds the first): the two lines are read and counted once.
        try afterFirstSave.write(to: URL(fileURLWithPath: fixture.stateFile))
        let beforeSecond = try fixture.monitor()
        #expect(network(beforeSecond) == 3)
        #expect(await beforeSecond.tick() == 2)
        #expect(network(beforeSecond) == 5)

        // Crash before the first save: nothing persisted, everything is read once.
        try FileManager.default.removeItem(atPath: fixture.stateFile)
        let beforeFirst = try fixture.monitor()
        #expect(await beforeFirst.tick() == 5)
        #expect(network(beforeFirst) == 5)
        let state = try String(contentsOfFile: fixture.stateFile, encoding: .utf8)
        #expect(state.contains(#""log_positions":[{"inode":"#))
        #expect(state.contains(#""path":"\#(fixture.log)""#))
    }

    @Test("A traceback cut in half by a restart is one event, classified by its final exception, counted once")
    func tracebackAcrossRestart() async throws {
        let fixture = try MonitorFixture()
        try fixture.append(text: tracebackHead)
        let first = try fixture.monitor()
        #expect(await first.tick() == 2)
        #expect(first.store.hasPendingTrace(source: "app"))
        #expect(events(first) == 0)
        let saved = try String(contentsOfFile: fixture.stateFile, encoding: .utf8)
        #expect(saved.contains(#""pending":[{"lines":["Traceback (most recent call last):","#))

        // The agent dies here; the rest of the traceback is written while it is down.
        try fixture.append(text: tracebackTail)
        let restarted = try fixture.monitor()
        #expect(restarted.store.hasPendingTrace(source: "app"))
        #expect(await restarted.tick() == 2)
        #expect(!restarted.store.hasPendingTrace(source: "app"))
        let records = restarted.store.recent()
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.classification.category == .dependencyMissing)
        #expect(record.classification.kind == .missingModule)
        #expect(record.classification.entities.module == "cv2")
        #expect(record.line == "ModuleNotFoundError: No module named 'cv2'")
        #expect(record.trace.count == 4)
        #expect(record.trace.first == "Traceback (most recent call last):")
        #expect(events(restarted) == 1)

        // Another restart reads and counts nothing again, and has no trace pending.
        let again = try fixture.monitor()
        #expect(!again.store.hasPendingTrace(source: "app"))
        #expect(await again.tick() == 0)
        #expect(events(again) == 1)
        #expect(again.store.recent().count == 1)
    }

    @Test("A crash before the save that held the traceback's first half reads the whole traceback once")
    func tracebackCrashBeforeSave() async throws {
        let fixture = try MonitorFixture()
        try fixture.append(lines: 1)
        let first = try fixture.monitor()
        #expect(await first.tick() == 1)
        let beforeTraceback = try Data(contentsOf: URL(fileURLWithPath: fixture.stateFile))
        try fixture.append(text: tracebackHead)
        #expect(await first.tick() == 2)
        try beforeTraceback.write(to: URL(fileURLWithPath: fixture.stateFile))
        try fixture.append(text: tracebackTail)
        let restarted = try fixture.monitor()
        #expect(!restarted.store.hasPendingTrace(source: "app"))
        #expect(await restarted.tick() == 4)
        #expect(events(restarted) == 2)
        #expect(restarted.store.countsByCategory()[.dependencyMissing] == 1)
        #expect(restarted.store.recent(category: .dependencyMissing).first?.trace.count == 4)
    }

    @Test("A trace resumed after a restart whose source stays quiet is recorded after the quiet period")
    func resumedTraceQuiet() async throws {
        let fixture = try MonitorFixture()
        try fixture.append(
            text:
                "Exception in thread \"main\" java.lang.NullPointerException\n\tat com.example.Main.run(Main.java:10)\n"
        )
        let first = try fixture.monitor()
        #expect(await first.tick() == 2)
        #expect(first.store.hasPendingTrace(source: "app"))
        let restarted = try fixture.monitor(quietPeriod: .zero)
        #expect(await restarted.tick() == 0)
        #expect(!restarted.store.hasPendingTrace(source: "app"))
        let record = try #require(restarted.store.recent().first)
        #expect(record.classification.category == .runtimeError)
        #expect(record.trace.count == 2)
        #expect(events(restarted) == 1)
        let saved = try String(contentsOfFile: fixture.stateFile, encoding: .utf8)
        #expect(saved.contains(#""pending":[]"#))
        #expect(events(try fixture.monitor()) == 1)
    }

    @Test("A temp file left by a save interrupted mid-write is ignored and replaced")
    func interruptedWrite() async throws {
        let fixture = try MonitorFixture()
        try fixture.append(lines: 2)
        let first = try fixture.monitor()
        #expect(await first.tick() == 2)
        try Data("{\"journal_cur".utf8).write(to: URL(fileURLWithPath: fixture.stateFile + ".tmp"))
        try fixture.append(lines: 1)
        let restarted = try fixture.monitor()
        #expect(network(restarted) == 2)
        #expect(await restarted.tick() == 1)
        #expect(network(restarted) == 3)
        #expect(!FileManager.default.fileExists(atPath: fixture.stateFile + ".tmp"))
    }

    @Test("The older layout (positions in log-tailer.json beside errors.json) is read once, then merged")
    func migration() async throws {
        let fixture = try MonitorFixture()
        try fixture.append(lines: 3)
        let inode = try #require(FileStatus(path: fixture.log)?.inode)
        let offset = (timeoutLine.utf8.count + 1) * 3
        try FileManager.default.createDirectory(atPath: fixture.data, withIntermediateDirectories: true)
        try Data(#"[{"inode":\#(inode),"offset":\#(offset),"path":"\#(fixture.log)"}]"#.utf8)
            .write(to: URL(fileURLWithPath: fixture.legacyFile))
        try Data(#"{"store":{"category_counts":{"NETWORK_FAILURE":3},"recent":[],"templates":[]}}"#.utf8)
            .write(to: URL(fileURLWithPath: fixture.stateFile))
        try fixture.append(lines: 2)
        let migrated = try fixture.monitor()
        #expect(network(migrated) == 3)
        #expect(await migrated.tick() == 2)
        #expect(network(migrated) == 5)
        #expect(!FileManager.default.fileExists(atPath: fixture.legacyFile))
        let restarted = try fixture.monitor()
        #expect(await restarted.tick() == 0)
        #expect(network(restarted) == 5)
    }

    @Test("A corrupt old positions file is an io_error naming it")
    func corruptLegacyPositions() throws {
        let fixture = try MonitorFixture()
        try FileManager.default.createDirectory(atPath: fixture.data, withIntermediateDirectories: true)
        try Data("not json".utf8).write(to: URL(fileURLWithPath: fixture.legacyFile))
        let error = #expect(throws: AgentError.self) { try fixture.monitor() }
        #expect(error?.code == .io)
        #expect(error?.message == "cannot read the log tailer state \(fixture.legacyFile)")
    }

    @Test("A durable write into a missing directory is an io_error naming the temp file and the reason")
    func durableWriteFailure() throws {
        let path = "/nonexistent-\(UUID().uuidString)/errors.json"
        let error = #expect(throws: AgentError.self) { try DurableFile.write(Data("{}".utf8), to: path) }
        #expect(error?.code == .io)
        #expect(error?.message == "cannot create \(path).tmp: No such file or directory")
    }

    @Test("A durable write replaces the file's content as a whole")
    func durableWrite() throws {
        let fixture = try MonitorFixture()
        let path = fixture.directory.appendingPathComponent("state.json").path
        try DurableFile.write(Data("first".utf8), to: path)
        try DurableFile.write(Data("second".utf8), to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "second")
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
    }
}

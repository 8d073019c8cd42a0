import AgentBasics
import AgentLogMonitor
import Foundation
import Testing

/// A temp directory with a log file and a state directory.
private final class TailerFixture {
    let directory: URL
    var log: String { directory.appendingPathComponent("app.log").path }
    var state: String { directory.appendingPathComponent("state").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tailer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func append(_ text: String, to path: String? = nil) throws {
        let target = path ?? log
        if !FileManager.default.fileExists(atPath: target) {
            FileManager.default.createFile(atPath: target, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: target))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    func tailer(_ start: LogTailer.StartPosition = .beginning, chunkSize: Int = 7) throws -> LogTailer {
        try LogTailer(paths: [log], stateDirectory: state, startPosition: start, chunkSize: chunkSize)
    }
}

private func texts(_ lines: [LogTailerLine]) -> [String] { lines.map(\.text) }

@Suite("LogTailer", .timeLimit(.minutes(1)))
struct LogTailerTests {
    @Test("Appended complete lines are returned once, in order; a partial line waits for its newline")
    func appendAndPartial() async throws {
        let fixture = try TailerFixture()
        let tailer = try fixture.tailer()
        #expect(try await tailer.poll().isEmpty)  // The file does not exist yet.
        try fixture.append("one\ntwo\nthr")
        #expect(texts(try await tailer.poll()) == ["one", "two"])
        #expect(try await tailer.poll().isEmpty)
        try fixture.append("ee\n\nfour\n")
        let lines = try await tailer.poll()
        #expect(texts(lines) == ["three", "", "four"])
        #expect(lines.allSatisfy { $0.path == fixture.log })
        #expect(await tailer.failures.isEmpty)
    }

    @Test("Rotation by rename finishes the old file, then follows the new one from its start")
    func rotation() async throws {
        let fixture = try TailerFixture()
        let tailer = try fixture.tailer()
        try fixture.append("a1\na2\n")
        #expect(texts(try await tailer.poll()) == ["a1", "a2"])
        try fixture.append("a3\na4-partial")
        try FileManager.default.moveItem(atPath: fixture.log, toPath: fixture.log + ".1")
        #expect(texts(try await tailer.poll()) == ["a3"])  // Renamed, new file not created yet.
        try fixture.append("b1\nb2\n")
        #expect(texts(try await tailer.poll()) == ["a4-partial", "b1", "b2"])
        try fixture.append("b3\n")
        #expect(texts(try await tailer.poll()) == ["b3"])
    }

    @Test("Two rotations between two polls lose nothing: the old file, then the one rotated after it, then the new")
    func twoRotationsBetweenPolls() async throws {
        let fixture = try TailerFixture()
        let tailer = try fixture.tailer()
        try fixture.append("a1\n")
        #expect(texts(try await tailer.poll()) == ["a1"])
        try fixture.append("a2\na3-partial")
        try FileManager.default.moveItem(atPath: fixture.log, toPath: fixture.log + ".1")
        try fixture.append("b1\nb2\n")
        try FileManager.default.moveItem(atPath: fixture.log + ".1", toPath: fixture.log + ".2")
        try FileManager.default.moveItem(atPath: fixture.log, toPath: fixture.log + ".1")
        try fixture.append("c1\n")
        #expect(texts(try await tailer.poll()) == ["a2", "a3-partial", "b1", "b2", "c1"])
        try fixture.append("c2\n")
        #expect(texts(try await tailer.poll()) == ["c2"])
    }

    @Test("A restart after two rotations finishes the old file from its offset, then the one rotated after it")
    func restartAfterTwoRotations() async throws {
        let fixture = try TailerFixture()
        try fixture.append("a1\n")
        #expect(texts(try await fixture.tailer().poll()) == ["a1"])
        try fixture.append("a2\n")
        try FileManager.default.moveItem(atPath: fixture.log, toPath: fixture.log + ".1")
        try fixture.append("b1\n")
        try FileManager.default.moveItem(atPath: fixture.log + ".1", toPath: fixture.log + ".2")
        try FileManager.default.moveItem(atPath: fixture.log, toPath: fixture.log + ".1")
        try fixture.append("c1\n")
        #expect(texts(try await fixture.tailer().poll()) == ["a2", "b1", "c1"])
    }

    @Test("A tailer given positions writes no state file and continues from them")
    func callerKeepsPositions() async throws {
        let fixture = try TailerFixture()
        try fixture.append("one\ntwo\n")
        let first = LogTailer(paths: [fixture.log], positions: [])
        #expect(texts(try await first.poll()) == ["one", "two"])
        let positions = await first.positions
        #expect(positions.count == 1 && positions.first?.offset == 8)
        #expect(!FileManager.default.fileExists(atPath: fixture.state))
        try fixture.append("three\n")
        let second = LogTailer(paths: [fixture.log], positions: positions)
        #expect(texts(try await second.poll()) == ["three"])
    }

    @Test("Truncation below the offset restarts at 0")
    func truncation() async throws {
        let fixture = try TailerFixture()
        let tailer = try fixture.tailer()
        try fixture.append("first line\nsecond line\n")
        #expect(try await tailer.poll().count == 2)
        try Data("new\n".utf8).write(to: URL(fileURLWithPath: fixture.log))  // Same inode, shorter.
        #expect(texts(try await tailer.poll()) == ["new"])
    }

    @Test("A restarted tailer resumes from the persisted offset: no line lost, none repeated")
    func restart() async throws {
        let fixture = try TailerFixture()
        var seen: [String] = []
        var written = 0
        for round in 0..<5 {
            let tailer = try fixture.tailer(chunkSize: 5 + round)
            for _ in 0..<3 {
                var text = ""
                for _ in 0..<(round + 2) {
                    text += "line \(written)\n"
                    written += 1
                }
                try fixture.append(text)
                seen += texts(try await tailer.poll())
            }
            try fixture.append("line \(written)\n")  // Written while the tailer is "down".
            written += 1
        }
        seen += texts(try await fixture.tailer().poll())
        #expect(seen == (0..<written).map { "line \($0)" })
        let state = try String(contentsOfFile: fixture.state + "/log-tailer.json", encoding: .utf8)
        #expect(state.contains(#""path":"\#(fixture.log)""#))
        #expect(state.contains(#""inode":"#))
    }

    @Test("A restart after a rotation finishes the rotated file from the persisted offset")
    func restartAfterRotation() async throws {
        let fixture = try TailerFixture()
        try fixture.append("old1\n")
        #expect(texts(try await fixture.tailer().poll()) == ["old1"])
        try fixture.append("old2\n")
        try FileManager.default.moveItem(atPath: fixture.log, toPath: fixture.log + ".1")
        try fixture.append("new1\n")
        #expect(texts(try await fixture.tailer().poll()) == ["old2", "new1"])
    }

    @Test("Starting at the end skips existing content of a file seen for the first time")
    func startAtEnd() async throws {
        let fixture = try TailerFixture()
        try fixture.append("old\n")
        let tailer = try fixture.tailer(.end)
        #expect(try await tailer.poll().isEmpty)
        try fixture.append("new\n")
        #expect(texts(try await tailer.poll()) == ["new"])
    }

    @Test("A corrupt state file is an io_error naming the file")
    func corruptState() throws {
        let fixture = try TailerFixture()
        try FileManager.default.createDirectory(atPath: fixture.state, withIntermediateDirectories: true)
        try "not json".write(toFile: fixture.state + "/log-tailer.json", atomically: true, encoding: .utf8)
        let error = #expect(throws: AgentError.self) { try fixture.tailer() }
        #expect(error?.code == .io)
        #expect(error?.message == "cannot read the log tailer state \(fixture.state)/log-tailer.json")
    }

    @Test("An unreadable file is reported in failures while other files keep flowing")
    func unreadableFile() async throws {
        let fixture = try TailerFixture()
        let directoryAsLog = fixture.directory.appendingPathComponent("dir.log").path
        try FileManager.default.createDirectory(atPath: directoryAsLog, withIntermediateDirectories: true)
        let tailer = try LogTailer(paths: [directoryAsLog, fixture.log], stateDirectory: fixture.state)
        try fixture.append("ok\n")
        #expect(texts(try await tailer.poll()) == ["ok"])
        let failure = try #require(await tailer.failures[directoryAsLog])
        #expect(failure == "cannot read \(directoryAsLog): Is a directory")
    }

    @Test("A very long line is handed out in bounded pieces")
    func longLine() async throws {
        let fixture = try TailerFixture()
        let tailer = try LogTailer(
            paths: [fixture.log], stateDirectory: fixture.state, chunkSize: 4, maximumLineBytes: 10)
        try fixture.append(String(repeating: "x", count: 25) + "\nend\n")
        #expect(try await tailer.poll().map(\.bytes.count) == [10, 10, 5, 3])
    }
}

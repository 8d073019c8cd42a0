import AgentAPI
import AgentBasics
import AgentJobs
import AgentLogMonitor
import Foundation
import Memory
import Testing

@testable import AgentCore

@Suite("Byte limits", .timeLimit(.minutes(2)))
struct ByteLimitTests {
    @Test("Finished exec jobs are forgotten, oldest first, once the table keeps more output than its budget")
    func execOutputBudget() async throws {
        try await JobRunnerService.withRunning { runner, _ in
            let table = ExecJobTable(runner: runner, outputBudget: 10_000)
            let first = try table.start(ExecRequest(shell: "head -c 6000 /dev/zero | tr '\\0' a"))
            while !first.isFinished { try await Task.sleep(for: .milliseconds(20)) }
            #expect(first.keptBytes == 12_000)  // stdout and combined
            let second = try table.start(ExecRequest(argv: ["true"]))
            #expect(throws: AgentError.self) { try table.job(first.id) }
            #expect(try table.job(second.id) === second)
        }
        #expect(ExecJobTable.defaultOutputBudget == 64 << 20)
    }

    @Test("The error store cuts stored lines, traces and templates to their byte limits")
    func errorStoreBytes() {
        let store = ErrorStore()
        let long = "ModuleNotFoundError: No module named '" + String(repeating: "é", count: 5000) + "'"
        store.ingest(long, source: "s")
        let record = try? #require(store.recent().first)
        #expect((record?.line.utf8.count ?? 0) <= ErrorStore.maxLineBytes)
        #expect(record?.line.hasPrefix("ModuleNotFoundError: No module named '") == true)
        let trace = ErrorStore.clippedTrace(Array(repeating: String(repeating: "x", count: 3000), count: 50))
        #expect(trace.reduce(0) { $0 + $1.utf8.count } <= ErrorStore.maxTraceBytes)
        #expect(trace.allSatisfy { $0.utf8.count <= ErrorStore.maxLineBytes })
        #expect("aé".clipped(toUTF8: 2) == "a")
    }

    @Test("Finished pack jobs are forgotten once their logs are over the table's byte budget")
    func packLogBudget() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("packlog-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try await JobRunnerService.withRunning { runner, _ in
            let table = PackJobTable(
                runner: runner, catalogDirectory: PackAgent.fixtures,
                dataDirectory: directory.appendingPathComponent("data").path,
                settings: PackInstallSettings(root: directory.appendingPathComponent("root").path),
                events: AgentEventLog(), logBudget: 1)
            let first = try table.start(name: "test_files", request: PackInstallRequest())
            while !first.isFinished { try await Task.sleep(for: .milliseconds(20)) }
            #expect(PackJobTable.logBytes(first) > 1)
            let second = try table.start(name: "test_files", request: PackInstallRequest())
            while !second.isFinished { try await Task.sleep(for: .milliseconds(20)) }
            #expect(throws: AgentError.self) { try table.job(first.id) }
            #expect(try table.job(second.id) === second)
        }
    }

    @Test("A running pack job keeps at most its line and byte limits of log, dropping the oldest lines")
    func runningPackLogBytes() {
        var log: [String] = []
        var bytes = 0
        var dropped = 0
        let line = String(repeating: "x", count: 4000)
        for _ in 0..<3000 {
            log.append(line)
            let trimmed = PackInstallJob.trim(&log, bytes: bytes + line.utf8.count, maxLines: 20_000, maxBytes: 4 << 20)
            bytes = trimmed.bytes
            dropped += trimmed.dropped
        }
        #expect(bytes <= 4 << 20)
        #expect(bytes == log.count * 4000)
        #expect(dropped == 3000 - log.count)
        #expect(log.count == (4 << 20) / 4000)
        // The line limit holds as well, and a single line larger than the budget is kept.
        var short = ["a", "b", "c"]
        #expect(PackInstallJob.trim(&short, bytes: 3, maxLines: 2, maxBytes: 100) == (1, 2))
        #expect(short == ["b", "c"])
        var huge = [String(repeating: "y", count: 10)]
        #expect(PackInstallJob.trim(&huge, bytes: 10, maxLines: 5, maxBytes: 4) == (0, 10))
        #expect(PackInstallJob.logByteLimit == 4 << 20)
    }

    @Test("A memory export larger than its byte limit is refused with 413 too_large")
    func exportBytes() throws {
        let record = MemoryRecord(
            id: "m1", namespace: "default", kind: .coreFact, content: String(repeating: "x", count: 200), tags: [],
            metadata: [:], importance: .medium, createdAt: Date(), updatedAt: Date(), lastAccessedAt: nil,
            accessCount: 0, expiresAt: nil, contentHash: "h")
        #expect(throws: Never.self) { try MemoryHandler.jsonLines([record], maxBytes: 10_000) }
        let error = try #require(throws: MemoryError.self) { try MemoryHandler.jsonLines([record], maxBytes: 100) }
        #expect(error.code == .tooLarge)
        #expect(
            error.message
                == "the export of 1 memories is larger than 100 bytes; export one namespace at a time (?namespace=)")
        #expect(MemoryHandler.maxExportBytes == 64 << 20)
    }
}

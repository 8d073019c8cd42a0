import AgentLogMonitor
import Foundation
import LogClassifier
import Testing

private let classifier = LogClassifier()

@Suite("ErrorStore")
struct ErrorStoreTests {
    @Test("A Python traceback becomes one error classified by its final exception line")
    func tracebackGrouping() throws {
        let store = ErrorStore(classifier: classifier)
        let lines = [
            "Traceback (most recent call last):",
            "  File \"/app/train.py\", line 3, in <module>",
            "    import cv2",
            "ModuleNotFoundError: No module named 'cv2'",
            "next step starting",
        ]
        var events: [LogEvent] = []
        for line in lines { events += store.ingest(line, source: "train.log") }
        #expect(events.count == 2)
        let record = try #require(store.recent().first)
        #expect(store.recent().count == 1)
        #expect(record.classification.category == .dependencyMissing)
        #expect(record.line == "ModuleNotFoundError: No module named 'cv2'")
        #expect(record.trace.count == 4)
        #expect(record.source == "train.log")
        let counts = store.countsByCategory()
        #expect(counts[.dependencyMissing] == 1)
        #expect(counts[.other] == 1)
        #expect(counts.count == LogCategory.allCases.count)
    }

    @Test("A snapshot taken mid-trace holds its lines; a store restored from it finishes the trace once")
    func pendingTraceSnapshot() throws {
        let prefix = "Jun 05 10:00:01 vm-1 python3[991]: "
        let head = [prefix + "Traceback (most recent call last):", prefix + "  File \"/app/serve.py\", line 9"]
        let store = ErrorStore(classifier: classifier)
        for line in head { #expect(store.ingest(line, source: "serve").isEmpty) }
        store.ingest("plain line", source: "other")
        let snapshot = store.snapshot()
        #expect(snapshot.pending == [ErrorStoreSnapshot.PendingTrace(source: "serve", lines: head)])
        let decoded = try JSONDecoder().decode(ErrorStoreSnapshot.self, from: JSONEncoder().encode(snapshot))
        let restored = ErrorStore(classifier: classifier)
        restored.restore(decoded)
        #expect(restored.hasPendingTrace(source: "serve"))
        let events = restored.ingest(prefix + "ModuleNotFoundError: No module named 'vllm'", source: "serve")
        #expect(events.count == 1)
        #expect(events.first?.lines.count == 3)
        #expect(events.first?.classification.entities.module == "vllm")
        #expect(restored.countsByCategory()[.dependencyMissing] == 1)
        #expect(restored.countsByCategory()[.other] == 1)
        #expect(restored.snapshot().pending == [])
    }

    @Test("A snapshot written before pending traces were saved restores with none")
    func snapshotWithoutPending() throws {
        let json = #"{"category_counts":{"OTHER":2},"recent":[],"templates":[]}"#
        let snapshot = try JSONDecoder().decode(ErrorStoreSnapshot.self, from: Data(json.utf8))
        #expect(snapshot.pending == nil)
        let store = ErrorStore(classifier: classifier)
        store.restore(snapshot)
        #expect(store.countsByCategory()[.other] == 2)
        #expect(!store.hasPendingTrace(source: "app"))
    }

    @Test("A Java stack trace still open at the end of the stream is recorded by flush")
    func javaFlush() throws {
        let store = ErrorStore(classifier: classifier)
        store.ingest("Exception in thread \"main\" java.lang.NullPointerException", source: "app")
        store.ingest("\tat com.example.Main.run(Main.java:10)", source: "app")
        store.ingest("\tat com.example.Main.main(Main.java:3)", source: "app")
        #expect(store.recent().isEmpty)
        #expect(store.flush(source: "app").count == 1)
        let record = try #require(store.recent().first)
        #expect(record.classification.category == .runtimeError)
        #expect(record.trace.count == 3)
        #expect(store.flush(source: "app").isEmpty)
    }

    @Test("Repeated templates are counted once in the recent list, with first and last seen")
    func repeatedTemplates() throws {
        let store = ErrorStore(classifier: classifier)
        let start = Date(timeIntervalSince1970: 1_000_000)
        for index in 0..<5 {
            store.ingest(
                "curl: (7) Failed to connect to 10.0.0.\(10 + index) port 8080: Connection refused",
                source: "fetch.log", at: start.addingTimeInterval(Double(index)))
        }
        let records = store.recent()
        #expect(records.count == 1)
        let record = try #require(records.first)
        #expect(record.count == 5)
        #expect(record.firstSeen == start)
        #expect(record.lastSeen == start.addingTimeInterval(4))
        #expect(record.line.contains("10.0.0.10 "))
        #expect(store.count(template: record.classification.template, category: .networkFailure) == 5)
        #expect(store.countsByCategory()[.networkFailure] == 5)
    }

    @Test("OTHER is counted but never listed")
    func otherCountedNotListed() {
        let store = ErrorStore(classifier: classifier)
        store.ingest("Epoch 1/10 finished, loss 0.25", source: "a")
        store.ingest("server listening on port 8000", source: "a")
        #expect(store.recent().isEmpty)
        #expect(store.countsByCategory()[.other] == 2)
        #expect(store.templateCount == 2)
    }

    @Test("The recent list keeps the newest distinct errors, newest first, within its capacity")
    func bounds() {
        let store = ErrorStore(classifier: classifier, capacity: 3, templateCapacity: 4)
        let base = Date(timeIntervalSince1970: 2_000_000)
        let lines = [
            "ModuleNotFoundError: No module named 'torch'",
            "Segmentation fault (core dumped)",
            "curl: (6) Could not resolve host: pypi.org",
            "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB",
            "OSError: [Errno 28] No space left on device",
        ]
        for (index, line) in lines.enumerated() {
            store.ingest(line, source: "s", at: base.addingTimeInterval(Double(index)))
        }
        let records = store.recent()
        #expect(records.map(\.line) == [lines[4], lines[3], lines[2]])
        #expect(store.templateCount == 4)
        #expect(store.countsByCategory().values.reduce(0, +) == 5)
        #expect(store.recent(limit: 2).count == 2)
        #expect(store.recent(limit: 0).isEmpty)
    }

    @Test("recent filters by date and by category")
    func filters() {
        let store = ErrorStore(classifier: classifier)
        let base = Date(timeIntervalSince1970: 3_000_000)
        store.ingest("ModuleNotFoundError: No module named 'torch'", source: "s", at: base)
        store.ingest("curl: (6) Could not resolve host: pypi.org", source: "s", at: base.addingTimeInterval(10))
        store.ingest("Segmentation fault (core dumped)", source: "s", at: base.addingTimeInterval(20))
        #expect(store.recent(since: base.addingTimeInterval(10)).count == 2)
        #expect(store.recent(since: base.addingTimeInterval(21)).isEmpty)
        #expect(store.recent(category: .networkFailure).map(\.line) == ["curl: (6) Could not resolve host: pypi.org"])
        #expect(store.recent(since: base.addingTimeInterval(5), category: .dependencyMissing).isEmpty)
    }

    @Test("Records encode with snake_case dates and the classification's keys")
    func encoding() throws {
        let store = ErrorStore(classifier: classifier)
        store.ingest("Segmentation fault (core dumped)", source: "s", at: Date(timeIntervalSince1970: 0))
        let record = try #require(store.recent().first)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let text = String(decoding: try encoder.encode(record), as: UTF8.self)
        #expect(text.contains(#""first_seen":"1970-01-01T00:00:00Z""#))
        #expect(text.contains(#""category":"RUNTIME_ERROR""#))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        #expect(try decoder.decode(ErrorRecord.self, from: encoder.encode(record)) == record)
    }
}

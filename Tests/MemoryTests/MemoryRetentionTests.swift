import AgentAPI
import Foundation
import Memory
import SQLite
import Testing

@Suite("Memory retention")
struct MemoryRetentionTests {
    @Test("memories expire by importance days and by expires_at; critical never")
    func expiry() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        var ids: [MemoryImportance: String] = [:]
        for importance in MemoryImportance.allCases {
            ids[importance] = try store.add(
                MemoryCreateRequest(namespace: "e", content: "a \(importance.rawValue) memory", importance: importance)
            ).memory.id
        }
        let soon = try store.add(
            MemoryCreateRequest(
                namespace: "e", content: "expires soon", importance: .critical, expiresAt: Date().addingTimeInterval(60)
            ))
        let now = Date()
        #expect(try store.enforceRetention(now: now) == MemoryRetentionReport(expired: 0, evicted: 0))
        let twoDays = try store.enforceRetention(now: now.addingTimeInterval(2 * 86_400))
        #expect(twoDays.expired == 2)
        let gone = try #require(throws: MemoryError.self) {
            try store.get(id: ids[.temporary] ?? "", namespace: "e")
        }
        #expect(gone.code == .notFound)
        #expect(throws: MemoryError.self) { try store.get(id: soon.memory.id, namespace: "e") }
        let later = try store.enforceRetention(now: now.addingTimeInterval(400 * 86_400))
        #expect(later.expired == 3)
        let left = try store.export(namespace: "e").map(\.importance)
        #expect(left == [.critical])
    }

    @Test("over the cap, the lowest retention scores go down to 95 %; critical stays")
    func cap() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory, cap: 20)
        var critical: [String] = []
        for number in 0..<10 {
            critical.append(
                try store.add(
                    MemoryCreateRequest(namespace: "c", content: "critical item \(number)", importance: .critical)
                ).memory.id)
        }
        for number in 0..<10 {
            _ = try store.add(MemoryCreateRequest(namespace: "c", content: "high item \(number)", importance: .high))
        }
        for number in 0..<10 {
            _ = try store.add(MemoryCreateRequest(namespace: "c", content: "low item \(number)", importance: .low))
        }
        _ = try store.add(MemoryCreateRequest(namespace: "other", content: "untouched", importance: .low))
        let report = try store.enforceRetention(now: Date())
        #expect(report == MemoryRetentionReport(expired: 0, evicted: 11))
        let left = try store.export(namespace: "c")
        #expect(left.count == 19)
        #expect(left.filter { $0.importance == .low }.isEmpty)
        #expect(Set(critical).isSubset(of: Set(left.map(\.id))))
        #expect(left.filter { $0.importance == .high }.count == 9)
        #expect(try store.stats(namespace: "other").total == 1)
        let database = try SQLiteDatabaseProbe(directory)
        #expect(try database.count("SELECT count(*) FROM memory_history WHERE action = 'evict'") == 11)
    }

    @Test("the retention service runs a pass and stops on cancellation", .timeLimit(.minutes(1)))
    func service() async throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        _ = try store.add(
            MemoryCreateRequest(namespace: "s", content: "short lived", expiresAt: Date().addingTimeInterval(-1)))
        let service = MemoryRetentionService(store: store, interval: .milliseconds(20), logger: quietLogger())
        let task = Task { try await service.run() }
        let deadline = ContinuousClock.now + .seconds(30)
        while try store.stats(namespace: "s").total > 0 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        try await task.value
        #expect(try store.stats(namespace: "s").total == 0)
    }
}

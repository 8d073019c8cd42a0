import AgentAPI
import Foundation
import Logging
import Memory
import SQLite
import Synchronization
import Testing

@Suite("Forget means forget")
struct MemoryForgetTests {
    @Test("Deleting a memory purges its records from history and keeps only the fact of the deletion")
    func deletePurgesHistory() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let created = try store.add(
            MemoryCreateRequest(namespace: "n", kind: .userDirective, content: "the vault password is hunter2"))
        let id = created.memory.id
        _ = try store.update(id: id, namespace: "n", MemoryUpdateRequest(content: "the vault password is hunter3"))
        let other = try store.add(MemoryCreateRequest(namespace: "n", content: "deploys happen on Tuesdays"))
        try store.delete(id: id, namespace: "n")

        let database = try SQLiteDatabase(path: directory.databasePath, readOnly: true)
        let rows = try database.query(
            "SELECT action, old_sealed IS NULL AND new_sealed IS NULL, kind FROM memory_history WHERE memory_id = ? "
                + "ORDER BY seq", [.text(id)])
        #expect(rows.map { $0[0].stringValue ?? "" } == ["add", "update", "delete"])
        #expect(rows.allSatisfy { $0[1].intValue == 1 })
        #expect(rows.last?[2].stringValue == "user_directive")
        let kept = try database.query(
            "SELECT count(*) FROM memory_history WHERE memory_id = ? AND new_sealed IS NOT NULL",
            [.text(other.memory.id)])
        #expect(kept.first?[0].intValue == 1)
    }

    @Test("Expired memories lose their history records too")
    func retentionPurgesHistory() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let created = try store.add(
            MemoryCreateRequest(namespace: "n", content: "temporary token abc", expiresAt: Date().addingTimeInterval(1))
        )
        let report = try store.enforceRetention(now: Date().addingTimeInterval(10))
        #expect(report.expired == 1)
        let database = try SQLiteDatabase(path: directory.databasePath, readOnly: true)
        let rows = try database.query(
            "SELECT action, old_sealed IS NULL AND new_sealed IS NULL FROM memory_history WHERE memory_id = ?",
            [.text(created.memory.id)])
        #expect(rows.map { $0[0].stringValue ?? "" } == ["add", "expire"])
        #expect(rows.allSatisfy { $0[1].intValue == 1 })
    }

    @Test("The history keeps at most historyRowCap rows, the newest")
    func boundedRows() throws {
        let directory = try TemporaryDirectory()
        let store = try MemoryStore(dataDirectory: directory.path, historyRowCap: 20, logger: quietLogger())
        for index in 0..<50 {
            _ = try store.add(
                MemoryCreateRequest(namespace: "n", content: "distinct fact number \(index) about \(index * 7919)"))
        }
        let database = try SQLiteDatabase(path: directory.databasePath, readOnly: true)
        #expect(try database.query("SELECT count(*) FROM memory_history").first?[0].intValue == 20)
        #expect(try database.query("SELECT min(seq) FROM memory_history").first?[0].intValue == 31)
        #expect(MemoryStore.maxHistoryRows == 20_000)
        #expect(MemoryStore.maxHistoryBytes == 32 << 20)
    }

    @Test("Opening a database from before the purge removes the records of already-deleted memories")
    func migrationPurges() throws {
        let directory = try TemporaryDirectory()
        let liveID: String
        do {
            let store = try openStore(directory)
            liveID = try store.add(MemoryCreateRequest(namespace: "n", content: "still here")).memory.id
        }
        do {
            // Rewind to schema 1 with the history an old agent left: records kept after the deletion.
            let database = try SQLiteDatabase(path: directory.databasePath)
            try database.execute(
                """
                INSERT INTO memory_history(memory_id, namespace, action, at, old_sealed, new_sealed)
                    VALUES ('gone', 'n', 'add', 1, NULL, X'0102'), ('gone', 'n', 'delete', 2, X'0102', NULL);
                ALTER TABLE memory_history DROP COLUMN kind;
                PRAGMA user_version = 1;
                """)
        }
        _ = try openStore(directory)
        let database = try SQLiteDatabase(path: directory.databasePath, readOnly: true)
        let gone = try database.query(
            "SELECT count(*) FROM memory_history WHERE memory_id = 'gone' AND (old_sealed IS NOT NULL OR new_sealed IS NOT NULL)"
        )
        #expect(gone.first?[0].intValue == 0)
        #expect(
            try database.query("SELECT count(*) FROM memory_history WHERE memory_id = 'gone'").first?[0].intValue == 2)
        let live = try database.query(
            "SELECT count(*) FROM memory_history WHERE memory_id = ? AND new_sealed IS NOT NULL", [.text(liveID)])
        #expect(live.first?[0].intValue == 1)
    }

    @Test("The retention service waits while writes are held", .timeLimit(.minutes(1)))
    func retentionHeld() async throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        _ = try store.add(
            MemoryCreateRequest(namespace: "n", content: "expires soon", expiresAt: Date().addingTimeInterval(0.2)))
        try await Task.sleep(for: .milliseconds(300))
        let held = Atomic(true)
        let service = MemoryRetentionService(
            store: store, interval: .milliseconds(100), logger: quietLogger(),
            holdsWrites: { held.load(ordering: .relaxed) })
        let task = Task { try await service.run() }
        defer { task.cancel() }
        try await Task.sleep(for: .milliseconds(500))
        #expect(try store.stats(namespace: "n").total == 1)
        held.store(false, ordering: .relaxed)
        let deadline = ContinuousClock.now + .seconds(10)
        while try store.stats(namespace: "n").total > 0, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try store.stats(namespace: "n").total == 0)
    }
}

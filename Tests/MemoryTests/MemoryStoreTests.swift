import AgentAPI
import Foundation
import Memory
import SQLite
import Testing

@Suite("MemoryStore")
struct MemoryStoreTests {
    @Test("add, get, update and delete round-trip and record history")
    func crud() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let created = try store.add(
            MemoryCreateRequest(
                namespace: "user:alice", kind: .userDirective, content: "Always indent with four spaces",
                tags: ["style"], metadata: ["source": "chat"], importance: .high))
        #expect(created.outcome == .created)
        #expect(created.memory.kind == .userDirective)
        #expect(created.memory.importance == .high)
        let fetched = try store.get(id: created.memory.id, namespace: "user:alice")
        // Timestamps are stored as seconds since 1970 in a REAL column: equal to well under a millisecond,
        // not to the last bit of the in-memory `Date`.
        #expect(abs(fetched.createdAt.timeIntervalSince(created.memory.createdAt)) < 0.001)
        #expect(abs(fetched.updatedAt.timeIntervalSince(created.memory.updatedAt)) < 0.001)
        var sameTimes = fetched
        sameTimes.createdAt = created.memory.createdAt
        sameTimes.updatedAt = created.memory.updatedAt
        #expect(sameTimes == created.memory)

        let updated = try store.update(
            id: created.memory.id, namespace: "user:alice",
            MemoryUpdateRequest(content: "Always indent with two spaces", tags: ["style", "formatting"]))
        #expect(updated.content == "Always indent with two spaces")
        #expect(updated.tags == ["style", "formatting"])
        #expect(updated.metadata == ["source": "chat"])
        #expect(updated.contentHash != created.memory.contentHash)

        try store.delete(id: created.memory.id, namespace: "user:alice")
        #expect(throws: MemoryError.self) { try store.get(id: created.memory.id, namespace: "user:alice") }

        let database = try SQLiteDatabase(path: directory.databasePath, readOnly: true)
        let actions = try database.query("SELECT action FROM memory_history ORDER BY seq").compactMap {
            $0[0].stringValue
        }
        #expect(actions == ["add", "update", "delete"])
        // The memory is gone, so its history keeps the actions but no records.
        let sealed = try database.query("SELECT old_sealed, new_sealed FROM memory_history WHERE action = 'update'")
        #expect(sealed.first?[0].blobValue == nil)
        #expect(sealed.first?[1].blobValue == nil)
    }

    @Test("a namespace scopes every call")
    func namespaceScope() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let memory = try store.add(MemoryCreateRequest(namespace: "a", content: "the deploy key lives in vault"))
        let error = try #require(throws: MemoryError.self) { try store.get(id: memory.memory.id, namespace: "b") }
        #expect(error.code == .notFound)
        let hits = try store.search(MemorySearchRequest(namespace: "b", query: "deploy key vault"))
        #expect(hits.hits.isEmpty)
    }

    @Test("empty content is invalid input")
    func emptyContent() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let error = try #require(throws: MemoryError.self) {
            try store.add(MemoryCreateRequest(namespace: "a", content: "  \n "))
        }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("content is empty"))
    }

    @Test("content over 64 KiB is too large")
    func tooLarge() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let error = try #require(throws: MemoryError.self) {
            try store.add(MemoryCreateRequest(namespace: "a", content: String(repeating: "x", count: 65_537)))
        }
        #expect(error.code == .tooLarge)
        #expect(error.message.contains("65537 bytes"))
        _ = try store.add(MemoryCreateRequest(namespace: "a", content: String(repeating: "y", count: 65_536)))
    }

    @Test("an unknown id is not found, for get, update and delete")
    func unknownID() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let getError = try #require(throws: MemoryError.self) { try store.get(id: "nope", namespace: "a") }
        #expect(getError.code == .notFound)
        #expect(getError.message.contains("nope"))
        let updateError = try #require(throws: MemoryError.self) {
            try store.update(id: "nope", namespace: "a", MemoryUpdateRequest(content: "x"))
        }
        #expect(updateError.code == .notFound)
        let deleteError = try #require(throws: MemoryError.self) { try store.delete(id: "nope", namespace: "a") }
        #expect(deleteError.code == .notFound)
    }

    @Test(
        "bad namespace characters are invalid input",
        arguments: [
            "", "has space", "semi;colon", "ü", "a/b",
            String(repeating: "n", count: 65),
        ])
    func badNamespace(namespace: String) throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let error = try #require(throws: MemoryError.self) {
            try store.add(MemoryCreateRequest(namespace: namespace, content: "hello"))
        }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("namespace"))
        #expect(MemoryRecord.isValidNamespace(namespace) == false)
    }

    @Test("good namespaces are accepted")
    func goodNamespace() {
        for namespace in ["a", "user:alice", "proj.somnus-1_x", String(repeating: "n", count: 64)] {
            #expect(MemoryRecord.isValidNamespace(namespace))
        }
    }

    @Test("bad search parameters are invalid input")
    func badSearch() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let empty = try #require(throws: MemoryError.self) {
            try store.search(MemorySearchRequest(namespace: "a", query: " "))
        }
        #expect(empty.code == .invalidInput)
        #expect(empty.message.contains("query is empty"))
        let limit = try #require(throws: MemoryError.self) {
            try store.search(MemorySearchRequest(namespace: "a", query: "x", limit: 101))
        }
        #expect(limit.code == .invalidInput)
        #expect(limit.message.contains("101"))
        let score = try #require(throws: MemoryError.self) {
            try store.search(MemorySearchRequest(namespace: "a", query: "x", minScore: 2))
        }
        #expect(score.message.contains("min_score"))
    }

    @Test("identical normalized content is de-duplicated and its access count rises")
    func dedup() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let first = try store.add(MemoryCreateRequest(namespace: "a", content: "The build server is ci-7"))
        let second = try store.add(MemoryCreateRequest(namespace: "a", content: "  the BUILD server   is ci-7 "))
        #expect(second.outcome == .deduplicated)
        #expect(second.memory.id == first.memory.id)
        #expect(second.memory.accessCount == first.memory.accessCount + 1)
        #expect(try store.stats(namespace: "a").total == 1)
    }

    @Test("a near-duplicate is merged as an update recorded in history")
    func merge() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let base =
            "The production database runs PostgreSQL 15 on host db-prod-3 in the Frankfurt region, backed up "
            + "nightly to the object store bucket somnus-backups with thirty days of retention"
        let first = try store.add(MemoryCreateRequest(namespace: "a", content: base, tags: ["db"]))
        let second = try store.add(
            MemoryCreateRequest(namespace: "a", content: base + " days", tags: ["infra"], metadata: ["k": "v"]))
        #expect(second.outcome == .merged)
        #expect(second.memory.id == first.memory.id)
        #expect(second.memory.content == base + " days")
        #expect(second.memory.tags == ["db", "infra"])
        #expect(second.memory.metadata == ["k": "v"])
        #expect(try store.stats(namespace: "a").total == 1)
        let database = try SQLiteDatabase(path: directory.databasePath, readOnly: true)
        let merges = try database.query("SELECT count(*) FROM memory_history WHERE action = 'merge'")
        #expect(merges.first?[0].intValue == 1)
        let third = try store.add(MemoryCreateRequest(namespace: "a", content: "Unrelated: the cat is named Miso"))
        #expect(third.outcome == .created)
    }

    @Test("close and reopen: every memory is still there")
    func restart() throws {
        let directory = try TemporaryDirectory()
        var ids: [String] = []
        do {
            let store = try openStore(directory)
            for number in 0..<50 {
                ids.append(
                    try store.add(MemoryCreateRequest(namespace: "r", content: "fact number \(number) is kept"))
                        .memory.id)
            }
        }
        let reopened = try openStore(directory)
        for (number, id) in ids.enumerated() {
            #expect(try reopened.get(id: id, namespace: "r").content == "fact number \(number) is kept")
        }
        let hits = try reopened.search(MemorySearchRequest(namespace: "r", query: "fact number 42"))
        #expect(hits.hits.first?.memory.content == "fact number 42 is kept")
        let keyMode = try FileManager.default.attributesOfItem(atPath: directory.keyPath)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
    }

    @Test("search filters by kind, tags, time range and minimum score, and counts accesses")
    func searchFilters() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let fix = try store.add(
            MemoryCreateRequest(
                namespace: "f", kind: .errorFix, content: "ECONNREFUSED on port 5432: start postgresql first",
                tags: ["postgres", "network"]))
        let fact = try store.add(
            MemoryCreateRequest(
                namespace: "f", kind: .coreFact, content: "postgresql listens on port 5432", tags: ["postgres"]))
        let all = try store.search(MemorySearchRequest(namespace: "f", query: "postgresql port 5432", limit: 10))
        #expect(Set(all.hits.map(\.memory.id)) == [fix.memory.id, fact.memory.id])
        #expect(all.hits.allSatisfy { $0.bm25Rank != nil && $0.vectorRank != nil })
        #expect(all.embedder == "hashed-ngram")

        let kinds = try store.search(MemorySearchRequest(namespace: "f", query: "postgresql port", kinds: [.errorFix]))
        #expect(kinds.hits.map(\.memory.id) == [fix.memory.id])
        let tags = try store.search(
            MemorySearchRequest(namespace: "f", query: "postgresql port", tags: ["postgres", "network"]))
        #expect(tags.hits.map(\.memory.id) == [fix.memory.id])
        let future = try store.search(
            MemorySearchRequest(namespace: "f", query: "postgresql", since: Date().addingTimeInterval(60)))
        #expect(future.hits.isEmpty)
        let past = try store.search(
            MemorySearchRequest(namespace: "f", query: "postgresql", until: Date().addingTimeInterval(-60)))
        #expect(past.hits.isEmpty)
        let strict = try store.search(MemorySearchRequest(namespace: "f", query: "postgresql", minScore: 0.999))
        #expect(strict.hits.isEmpty)

        let again = try store.get(id: fix.memory.id, namespace: "f")
        #expect(again.accessCount == 3)
        #expect(again.lastAccessedAt != nil)
    }

    @Test("stats count by namespace, kind and importance")
    func stats() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        _ = try store.add(MemoryCreateRequest(namespace: "a", kind: .document, content: "one", importance: .low))
        _ = try store.add(MemoryCreateRequest(namespace: "b", content: "two"))
        let all = try store.stats(namespace: nil)
        #expect(all.total == 2)
        #expect(all.namespaces == ["a": 1, "b": 1])
        #expect(all.kinds == ["document": 1, "core_fact": 1])
        #expect(all.importances == ["low": 1, "medium": 1])
        #expect(all.databaseBytes > 0)
        #expect(try store.stats(namespace: "a").total == 1)
    }

    @Test("export then import into a fresh store keeps ids and skips what is there")
    func exportImport() throws {
        let source = try TemporaryDirectory()
        let store = try openStore(source)
        _ = try store.add(MemoryCreateRequest(namespace: "x", content: "alpha", tags: ["t"], metadata: ["m": "1"]))
        _ = try store.add(MemoryCreateRequest(namespace: "x", content: "beta"))
        _ = try store.add(MemoryCreateRequest(namespace: "y", content: "gamma"))
        let exported = try store.export(namespace: "x")
        #expect(exported.map(\.content) == ["alpha", "beta"])

        let target = try TemporaryDirectory()
        let other = try openStore(target)
        let first = try other.importRecords(exported)
        #expect(first == MemoryImportResponse(imported: 2, skipped: 0))
        let second = try other.importRecords(exported)
        #expect(second == MemoryImportResponse(imported: 0, skipped: 2))
        let copy = try other.get(id: exported[0].id, namespace: "x")
        #expect(copy.tags == ["t"])
        #expect(copy.metadata == ["m": "1"])
        #expect(copy.createdAt == exported[0].createdAt)

        var bad = exported[0]
        bad.namespace = "bad namespace"
        let error = try #require(throws: MemoryError.self) { try other.importRecords([bad]) }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("record 1"))
    }

    @Test("remember-turn stores the turn with heuristic importance and extracts facts")
    func rememberTurn() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        let response = try store.rememberTurn(
            MemoryTurnRequest(
                namespace: "chat", user: "Hi, my name is Dana and I work at Initech. I prefer tabs over spaces.",
                assistant: "Nice to meet you, Dana."))
        #expect(response.turn.kind == .conversation)
        #expect(response.turn.importance == .high)
        #expect(response.turn.content.hasPrefix("User: Hi, my name is Dana"))
        #expect(response.turn.tags.contains("personal"))
        let facts = Set(response.facts.map(\.content))
        #expect(facts == ["User's name is dana", "User works at initech", "User prefers tabs over spaces"])
        #expect(response.facts.allSatisfy { $0.kind == .coreFact && $0.importance == .critical })

        let plain = try store.rememberTurn(MemoryTurnRequest(namespace: "chat", user: "ok thanks", assistant: "bye"))
        #expect(plain.turn.importance == .low)
        #expect(plain.facts.isEmpty)
        let empty = try #require(throws: MemoryError.self) {
            try store.rememberTurn(MemoryTurnRequest(namespace: "chat", user: "", assistant: "x"))
        }
        #expect(empty.message.contains("user text is empty"))
    }
}

import AgentAPI
import Foundation
import Memory
import SQLite
import Testing

@Suite("Memory encryption and faults")
struct MemorySecurityTests {
    @Test("the database file and its WAL hold no stored secret word, tag or metadata")
    func grep() throws {
        let directory = try TemporaryDirectory()
        let store = try openStore(directory)
        for number in 0..<20 {
            _ = try store.add(
                MemoryCreateRequest(
                    namespace: "secret", content: "The launch code is xylophonequartz \(number)",
                    tags: ["zebratagword"], metadata: ["owner": "metadatavalueword"]))
        }
        _ = try store.update(
            id: try store.export(namespace: "secret")[0].id, namespace: "secret",
            MemoryUpdateRequest(content: "Updated: xylophonequartz moved"))
        _ = try store.search(MemorySearchRequest(namespace: "secret", query: "xylophonequartz launch code"))
        let database = directory.bytes("memory.sqlite")
        let wal = directory.bytes("memory.sqlite-wal")
        #expect(!wal.isEmpty, "the test should see a WAL with the writes in it")
        for word in ["xylophonequartz", "launch", "zebratagword", "metadatavalueword", "owner"] {
            #expect(!contains(database, word), "\(word) is in the database file")
            #expect(!contains(wal, word), "\(word) is in the WAL")
        }
        #expect(try store.search(MemorySearchRequest(namespace: "secret", query: "xylophonequartz")).hits.count == 5)
    }

    @Test("a foreign SQLite file is reported degraded and left byte for byte as it was")
    func foreignDatabase() throws {
        let directory = try TemporaryDirectory()
        do {
            let other = try SQLiteDatabase(path: directory.databasePath)
            try other.execute(
                "PRAGMA journal_mode = DELETE; CREATE TABLE photos(id INTEGER); INSERT INTO photos VALUES (1)")
        }
        let before = directory.bytes("memory.sqlite")
        let error = try #require(throws: MemoryError.self) { try openStore(directory) }
        #expect(error.code == .degraded)
        #expect(error.message.contains("another program"))
        #expect(error.message.contains("photos"))
        #expect(directory.bytes("memory.sqlite") == before)
        #expect(!FileManager.default.fileExists(atPath: directory.databasePath + "-wal"))
    }

    @Test("a corrupt file is reported degraded and left byte for byte as it was")
    func corruptFile() throws {
        let directory = try TemporaryDirectory()
        let garbage = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        FileManager.default.createFile(atPath: directory.databasePath, contents: Data(garbage))
        let error = try #require(throws: MemoryError.self) { try openStore(directory) }
        #expect(error.code == .degraded)
        #expect(error.message.contains("memory.sqlite"))
        #expect(directory.bytes("memory.sqlite") == garbage)
    }

    @Test("a wrong key refuses to open and re-creates nothing")
    func wrongKey() throws {
        let directory = try TemporaryDirectory()
        do {
            let store = try openStore(directory)
            _ = try store.add(MemoryCreateRequest(namespace: "k", content: "keep me"))
        }
        let otherKey = (0..<32).map { UInt8($0) }
        FileManager.default.createFile(atPath: directory.keyPath, contents: Data(otherKey))
        let before = directory.bytes("memory.sqlite")
        let error = try #require(throws: MemoryError.self) { try openStore(directory) }
        #expect(error.code == .wrongKey)
        #expect(error.message.contains("refusing to re-create"))
        #expect(directory.bytes("memory.key") == otherKey)
        #expect(directory.bytes("memory.sqlite") == before)
    }

    @Test("a missing key file for an existing database is a wrong key, not a new database")
    func missingKey() throws {
        let directory = try TemporaryDirectory()
        do {
            _ = try openStore(directory).add(MemoryCreateRequest(namespace: "k", content: "keep me"))
        }
        try FileManager.default.removeItem(atPath: directory.keyPath)
        let error = try #require(throws: MemoryError.self) { try openStore(directory) }
        #expect(error.code == .wrongKey)
        #expect(error.message.contains("key file"))
        #expect(!FileManager.default.fileExists(atPath: directory.keyPath))
    }

    @Test("a key file of the wrong length is a wrong key")
    func shortKey() throws {
        let directory = try TemporaryDirectory()
        FileManager.default.createFile(atPath: directory.keyPath, contents: Data([1, 2, 3]))
        let error = try #require(throws: MemoryError.self) { try openStore(directory) }
        #expect(error.code == .wrongKey)
        #expect(error.message.contains("3 bytes"))
    }

    @Test("rotate-key re-encrypts everything; the store reopens with the new key only")
    func rotateKey() throws {
        let directory = try TemporaryDirectory()
        let oldKey: [UInt8]
        var ids: [String] = []
        do {
            let store = try openStore(directory)
            for number in 0..<10 {
                ids.append(
                    try store.add(
                        MemoryCreateRequest(
                            namespace: "rot", content: "rotation fact \(number) about kiwis", tags: ["fruit"])
                    ).memory.id)
            }
            try store.delete(id: ids.removeLast(), namespace: "rot")
            oldKey = directory.bytes("memory.key")
            let response = try store.rotateKey()
            #expect(response.reencrypted == 9)
            #expect(directory.bytes("memory.key") != oldKey)
            #expect(
                try store.search(MemorySearchRequest(namespace: "rot", query: "kiwis", tags: ["fruit"])).hits.count == 5
            )
        }
        let reopened = try openStore(directory)
        for id in ids {
            #expect(try reopened.get(id: id, namespace: "rot").content.contains("kiwis"))
        }
        let hits = try reopened.search(MemorySearchRequest(namespace: "rot", query: "rotation fact 3 kiwis"))
        #expect(hits.hits.first?.memory.content == "rotation fact 3 about kiwis")
        let again = try reopened.add(MemoryCreateRequest(namespace: "rot", content: "rotation fact 3 about kiwis"))
        #expect(again.outcome == .deduplicated)

        FileManager.default.createFile(atPath: directory.keyPath, contents: Data(oldKey))
        let error = try #require(throws: MemoryError.self) { try openStore(directory) }
        #expect(error.code == .wrongKey)
    }
}

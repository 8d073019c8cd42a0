import Foundation
import SQLite
import Testing

/// A fresh temporary directory removed when the value is released.
final class TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String {
        url.appendingPathComponent(name).path
    }

    deinit {
        try? FileManager.default.removeItem(at: url)
    }
}

@Suite("SQLiteDatabase")
struct SQLiteDatabaseTests {
    @Test("a file database is opened in WAL mode with foreign keys on")
    func walMode() throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("wal.db"))
        #expect(try database.journalMode == "wal")
        #expect(try database.query("PRAGMA foreign_keys").first?[0] == .integer(1))
        #expect(FileManager.default.fileExists(atPath: directory.path("wal.db")))
        let memory = try SQLiteDatabase.inMemory()
        #expect(try memory.journalMode == "memory")
    }

    @Test("typed values round-trip, including blobs, NULL and unicode")
    func roundTrip() throws {
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("types.db"))
        try database.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, n TEXT)")
        let text = "héllo wörld 🚀 — 日本語"
        let bytes: [UInt8] = [0, 1, 2, 0xff, 0, 42]
        try database.query(
            "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
            [.integer(Int64.max), .real(-2.5), .text(text), .blob(bytes), .null]
        )
        #expect(database.lastInsertRowID == 1)
        #expect(database.changes == 1)
        let statement = try database.prepare("SELECT i, r, s, b, n FROM t")
        #expect(try statement.step())
        #expect(statement.int64(at: 0) == Int64.max)
        #expect(statement.double(at: 1) == -2.5)
        #expect(statement.string(at: 2) == text)
        #expect(statement.blob(at: 3) == bytes)
        #expect(statement.isNull(at: 4))
        #expect(statement.string(at: 4) == nil)
        #expect(statement.blob(at: 4) == nil)
        #expect(statement.columnName(at: 2) == "s")
        #expect(try statement.step() == false)

        try database.query("INSERT INTO t (s, b) VALUES (?, ?)", ["", .blob([])])
        let row = try #require(try database.query("SELECT s, b FROM t WHERE rowid = 2").first)
        #expect(row["s"] == .text(""))
        #expect(row["b"] == .blob([]))
        #expect(row["missing"] == nil)
    }

    @Test("named parameters bind with or without their prefix")
    func namedParameters() throws {
        let database = try SQLiteDatabase.inMemory()
        let rows = try database.query("SELECT :a + @b, $c", named: ["a": 2, "@b": 3, "$c": "x"])
        #expect(rows.first?.values == [.integer(5), .text("x")])
    }

    @Test("binding an unknown parameter name names it")
    func unknownParameter() throws {
        let database = try SQLiteDatabase.inMemory()
        let error = try #require(throws: SQLiteError.self) {
            try database.query("SELECT :a", named: ["nope": 1])
        }
        #expect(error.code == .unknownParameter)
        #expect(error.message.contains("nope"))
        #expect(error.sql == "SELECT :a")
    }

    @Test("binding past the last parameter is a range error")
    func bindRange() throws {
        let database = try SQLiteDatabase.inMemory()
        let error = try #require(throws: SQLiteError.self) {
            try database.query("SELECT ?", [1, 2])
        }
        #expect(error.code == .range)
        #expect(error.message.contains("range"))
    }

    @Test("a prepared statement is reused with new bindings")
    func statementReuse() throws {
        let database = try SQLiteDatabase.inMemory()
        try database.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        let insert = try database.prepare("INSERT INTO t (name) VALUES (?)")
        for name in ["a", "b", "c"] {
            try insert.bind([.text(name)])
            try insert.run()
        }
        #expect(database.lastInsertRowID == 3)
        let select = try database.prepare("SELECT name FROM t WHERE id = ?")
        for (id, name) in [(1, "a"), (3, "c"), (2, "b")] {
            try select.bind([.int(id)])
            let rows = try select.allRows()
            #expect(rows.map { $0[0] } == [.text(name)])
        }
    }

    @Test("a throwing transaction rolls back and rethrows")
    func transactionRollback() throws {
        struct Boom: Error {}
        let directory = try TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.path("tx.db"))
        try database.execute("CREATE TABLE t (x INTEGER)")
        #expect(throws: Boom.self) {
            try database.transaction {
                try database.query("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        #expect(try database.query("SELECT count(*) FROM t").first?[0] == .integer(0))
        let value = try database.transaction {
            try database.query("INSERT INTO t VALUES (2)")
            try? database.transaction {
                try database.query("INSERT INTO t VALUES (3)")
                throw Boom()
            }
            return 7
        }
        #expect(value == 7)
        #expect(try database.query("SELECT x FROM t").map { $0[0] } == [.integer(2)])
    }

    @Test("migrations run once, in order, and survive reopening")
    func migrations() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("migrate.db")
        var log: [Int] = []
        let steps: [SQLiteMigration] = [
            SQLiteMigration(sql: "CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);"),
            SQLiteMigration { database in
                log.append(2)
                try database.execute("ALTER TABLE a ADD COLUMN y TEXT")
            },
        ]
        do {
            let database = try SQLiteDatabase(path: path)
            #expect(try database.migrate(steps) == 2)
            #expect(try database.userVersion == 2)
            #expect(try database.migrate(steps) == 0)
        }
        let reopened = try SQLiteDatabase(path: path)
        #expect(try reopened.migrate(steps) == 0)
        let third = steps + [SQLiteMigration(sql: "UPDATE a SET y = 'three'")]
        #expect(try reopened.migrate(third) == 1)
        #expect(try reopened.userVersion == 3)
        #expect(log == [2])
        #expect(try reopened.query("SELECT x, y FROM a").first?.values == [.integer(1), .text("three")])
    }

    @Test("a failing migration rolls back its step and keeps the version")
    func failingMigration() throws {
        let database = try SQLiteDatabase.inMemory()
        let steps = [
            SQLiteMigration(sql: "CREATE TABLE a (x INTEGER)"),
            SQLiteMigration(sql: "CREATE TABLE b (x INTEGER); CREATE TABLE a (x INTEGER);"),
        ]
        let error = try #require(throws: SQLiteError.self) { try database.migrate(steps) }
        #expect(error.code == .error)
        #expect(error.message.contains("already exists"))
        #expect(try database.userVersion == 1)
        #expect(try database.query("SELECT name FROM sqlite_schema WHERE name = 'b'").isEmpty)
    }

    @Test("a database newer than the known migrations is refused")
    func newerVersionRefused() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("newer.db")
        let database = try SQLiteDatabase(path: path)
        try database.execute("PRAGMA user_version = 5")
        let error = try #require(throws: SQLiteError.self) {
            try database.migrate([SQLiteMigration(sql: "CREATE TABLE a (x)")])
        }
        #expect(error.code == .schemaTooNew)
        #expect(error.message.contains("schema version 5"))
        #expect(error.message.contains("up to 1"))
        #expect(try database.query("SELECT name FROM sqlite_schema").isEmpty)
    }

    @Test("UNIQUE and NOT NULL violations report the code and name the column")
    func constraintErrors() throws {
        let database = try SQLiteDatabase.inMemory()
        try database.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)")
        try database.query("INSERT INTO users (email) VALUES (?)", ["a@example.com"])
        let unique = try #require(throws: SQLiteError.self) {
            try database.query("INSERT INTO users (email) VALUES (?)", ["a@example.com"])
        }
        #expect(unique.code == .constraint)
        #expect(unique.extendedCode == 2067)  // SQLITE_CONSTRAINT_UNIQUE
        #expect(unique.message.contains("UNIQUE constraint failed: users.email"))
        #expect(unique.sql == "INSERT INTO users (email) VALUES (?)")
        #expect(unique.description.contains("SQLITE_CONSTRAINT"))
        let notNull = try #require(throws: SQLiteError.self) {
            try database.query("INSERT INTO users (email) VALUES (NULL)")
        }
        #expect(notNull.code == .constraint)
        #expect(notNull.extendedCode == 1299)  // SQLITE_CONSTRAINT_NOTNULL
        #expect(notNull.message.contains("NOT NULL constraint failed: users.email"))
    }

    @Test("foreign keys are enforced")
    func foreignKeys() throws {
        let database = try SQLiteDatabase.inMemory()
        try database.execute(
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (pid INTEGER REFERENCES p(id));")
        let error = try #require(throws: SQLiteError.self) { try database.query("INSERT INTO c VALUES (9)") }
        #expect(error.code == .constraint)
        #expect(error.message.contains("FOREIGN KEY"))
    }

    @Test("FTS5 is available and MATCH finds rows")
    func fts5() throws {
        let database = try SQLiteDatabase.inMemory()
        try database.requireFTS5()
        try database.execute("CREATE VIRTUAL TABLE notes USING fts5(body, tokenize = 'porter unicode61')")
        try database.query("INSERT INTO notes (body) VALUES (?)", ["the GPU ran out of memory while training"])
        try database.query("INSERT INTO notes (body) VALUES (?)", ["pip could not find the torch package"])
        let rows = try database.query("SELECT body FROM notes WHERE notes MATCH ? ORDER BY bm25(notes)", ["trains"])
        #expect(rows.map { $0[0] } == [.text("the GPU ran out of memory while training")])
    }

    @Test("a missing virtual-table module is reported by name")
    func missingModule() throws {
        let database = try SQLiteDatabase.inMemory()
        let error = try #require(throws: SQLiteError.self) { try database.requireModule("fts9") }
        #expect(error.code == .moduleMissing)
        #expect(error.message.contains("fts9"))
        #expect(error.message.contains("no such module"))
    }

    @Test("bad SQL names the problem")
    func badSQL() throws {
        let database = try SQLiteDatabase.inMemory()
        let syntax = try #require(throws: SQLiteError.self) { try database.prepare("SELEKT 1") }
        #expect(syntax.code == .error)
        #expect(syntax.message.contains("near \"SELEKT\": syntax error"))
        #expect(syntax.sql == "SELEKT 1")
        let table = try #require(throws: SQLiteError.self) { try database.execute("SELECT * FROM nowhere") }
        #expect(table.message.contains("no such table: nowhere"))
    }

    @Test("opening a file that is not a database fails and leaves the file intact")
    func notADatabase() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("notes.txt")
        let content = Data(String(repeating: "this is not an SQLite database\n", count: 200).utf8)
        try content.write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: SQLiteError.self) { try SQLiteDatabase(path: path) }
        #expect(error.code == .notADatabase)
        #expect(error.message.contains("file is not a database"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
        #expect(throws: SQLiteError.self) { try SQLiteDatabase(path: path, readOnly: true) }
    }

    @Test("a missing file cannot be opened read-only, and a read-only connection refuses writes")
    func readOnly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("ro.db")
        let missing = try #require(throws: SQLiteError.self) { try SQLiteDatabase(path: path, readOnly: true) }
        #expect(missing.code == .cannotOpen)
        #expect(missing.message.contains(path))
        do {
            let writer = try SQLiteDatabase(path: path)
            try writer.execute("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
        }
        let reader = try SQLiteDatabase(path: path, readOnly: true)
        #expect(reader.isReadOnly)
        #expect(try reader.query("SELECT x FROM t").first?[0] == .integer(1))
        let error = try #require(throws: SQLiteError.self) { try reader.execute("INSERT INTO t VALUES (2)") }
        #expect(error.code == .readOnly)
        #expect(error.message.contains("readonly"))
    }

    @Test("integrity check passes on a good file and lists problems on a damaged index")
    func integrityCheck() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("damaged.db")
        var indexRoot = 0
        var pageSize = 0
        do {
            let database = try SQLiteDatabase(path: path)
            try database.execute("CREATE TABLE t (k TEXT); CREATE INDEX t_k ON t(k);")
            try database.query("INSERT INTO t VALUES (?)", ["alpha-key-0001"])
            try database.integrityCheck()
            indexRoot = try #require(
                try database.query("SELECT rootpage FROM sqlite_schema WHERE name = 't_k'")
                    .first?[0].intValue)
            pageSize = try #require(try database.query("PRAGMA page_size").first?[0].intValue)
        }
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let needle = Array("alpha-key-0001".utf8)
        let page = (indexRoot - 1) * pageSize..<indexRoot * pageSize
        let start = try #require(
            page.first { offset in
                offset + needle.count <= page.upperBound && Array(bytes[offset..<offset + needle.count]) == needle
            })
        bytes[start + needle.count - 1] = UInt8(ascii: "9")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let database = try SQLiteDatabase(path: path)
        let error = try #require(throws: SQLiteError.self) { try database.integrityCheck() }
        #expect(error.code == .integrityCheckFailed)
        #expect(error.message.contains("t_k"))
    }
}

internal import CSQLite3

/// One connection to an SQLite database file (or an in-memory database).
///
/// Opening a file for writing turns on write-ahead logging (`journal_mode=WAL`), a busy timeout and foreign
/// keys, and reads the schema once so a file that is not a database fails at open time (it is never
/// overwritten). Every failing call throws ``SQLiteError`` with SQLite's own message.
///
/// The connection is opened with `SQLITE_OPEN_FULLMUTEX`, so SQLite serializes concurrent calls internally.
/// Even so, use one connection from one caller at a time (own it in an actor, or call it from one serial
/// thread-pool job at a time): a transaction, `lastInsertRowID` and `changes` describe whatever the last caller
/// did. Long statements block the calling thread; do not run them on the cooperative pool.
///
/// The corresponding C functions are `sqlite3_open_v2` and `sqlite3_close_v2`.
// @unchecked Sendable: all stored properties are immutable, and the handle is opened in serialized threading
// mode (SQLITE_OPEN_FULLMUTEX, checked against sqlite3_threadsafe()), so SQLite itself locks the connection
// around every call; concurrent use cannot corrupt memory, only interleave statements logically (documented).
public final class SQLiteDatabase: @unchecked Sendable {
    /// `SQLITE_TRANSIENT`, which does not import into Swift: tells SQLite to copy bound bytes at once.
    static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    /// Whether the linked SQLite was built thread-safe; checked once per process.
    private static let isThreadSafe: Bool = sqlite3_threadsafe() != 0

    /// The connection handle; owned by this object and closed in `deinit`.
    let handle: OpaquePointer
    /// The path the database was opened from (`:memory:` for an in-memory database).
    public let path: String
    /// Whether the connection was opened read-only.
    public let isReadOnly: Bool

    /// Opens (and by default creates) a database file.
    ///
    /// A writable connection switches the file to WAL mode. Every connection gets the busy timeout and
    /// `foreign_keys=ON`.
    /// - Parameters:
    ///   - path: The file path.
    ///   - readOnly: Open without write access; the file must exist.
    ///   - busyTimeout: How long a statement waits for another connection's lock before failing with `.busy`.
    /// - Throws: ``SQLiteError`` when the file cannot be opened or is not a database (`.notADatabase`).
    public convenience init(path: String, readOnly: Bool = false, busyTimeout: Duration = .seconds(5)) throws {
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        try self.init(path: path, flags: flags, readOnly: readOnly, busyTimeout: busyTimeout)
        if !readOnly {
            let mode = try queryText("PRAGMA journal_mode = WAL")
            guard mode?.lowercased() == "wal" else {
                throw SQLiteError(
                    code: .error,
                    message: "cannot switch \(path) to WAL journal mode; it stays in \(mode ?? "unknown") mode",
                    sql: "PRAGMA journal_mode = WAL"
                )
            }
        }
    }

    /// Opens a private, empty in-memory database (no WAL; gone when the object is released).
    /// - Returns: The new connection.
    /// - Throws: ``SQLiteError`` if SQLite cannot allocate the database.
    public static func inMemory() throws -> SQLiteDatabase {
        try SQLiteDatabase(
            path: ":memory:",
            flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_MEMORY,
            readOnly: false,
            busyTimeout: .seconds(5)
        )
    }

    private init(path: String, flags: Int32, readOnly: Bool, busyTimeout: Duration) throws {
        precondition(Self.isThreadSafe, "the linked SQLite was built with SQLITE_THREADSAFE=0")
        var opened: OpaquePointer?
        let result = sqlite3_open_v2(path, &opened, flags | SQLITE_OPEN_FULLMUTEX, nil)
        guard let connection = opened else {
            throw SQLiteError(code: .noMemory, extendedCode: result, message: "cannot allocate a connection")
        }
        guard result == SQLITE_OK else {
            let error = SQLiteError(
                code: SQLiteError.Code(rawValue: result & 0xff),
                extendedCode: sqlite3_extended_errcode(connection),
                message: "cannot open \(path): \(String(cString: sqlite3_errmsg(connection)))"
            )
            sqlite3_close_v2(connection)
            throw error
        }
        self.handle = connection
        self.path = path
        self.isReadOnly = readOnly
        sqlite3_extended_result_codes(connection, 1)
        let milliseconds =
            busyTimeout.components.seconds * 1000 + busyTimeout.components.attoseconds / 1_000_000_000_000_000
        sqlite3_busy_timeout(connection, Int32(clamping: milliseconds))
        // Reading the schema makes a file that is not a database fail now, before anything is written to it.
        _ = try queryText("SELECT count(*) FROM sqlite_schema")
        try execute("PRAGMA foreign_keys = ON")
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Throws the connection's current error if `result` is not one of the success codes.
    ///
    /// Reads `sqlite3_errmsg` in the same synchronous call, so the message belongs to this failure.
    func check(_ result: Int32, sql: String?, success: Int32 = SQLITE_OK) throws {
        guard result != success else {
            return
        }
        throw SQLiteError(
            code: SQLiteError.Code(rawValue: result & 0xff),
            extendedCode: sqlite3_extended_errcode(handle),
            message: String(cString: sqlite3_errmsg(handle)),
            sql: sql
        )
    }

    /// Runs one or more SQL statements separated by semicolons, discarding any rows.
    /// - Parameter sql: The SQL script.
    /// - Throws: ``SQLiteError`` from the first statement that fails; earlier statements stay applied unless a
    ///   transaction surrounds the call.
    /// The corresponding C function is `sqlite3_exec`.
    public func execute(_ sql: String) throws {
        let result = sqlite3_exec(handle, sql, nil, nil, nil)
        try check(result, sql: sql)
    }

    /// Compiles one SQL statement.
    /// - Parameter sql: One statement; text after the first statement is ignored.
    /// - Returns: A statement ready for binding and stepping.
    /// - Throws: ``SQLiteError`` (usually `.error`) naming the syntax problem or missing table.
    /// The corresponding C function is `sqlite3_prepare_v2`.
    public func prepare(_ sql: String) throws -> SQLiteStatement {
        try SQLiteStatement(database: self, sql: sql)
    }

    /// Runs one statement with positional bindings and returns every result row.
    /// - Parameters:
    ///   - sql: One statement with `?` parameters.
    ///   - bindings: Values for the parameters, in order.
    /// - Returns: All rows (empty for statements that return none).
    /// - Throws: ``SQLiteError`` from compiling, binding or stepping.
    @discardableResult
    public func query(_ sql: String, _ bindings: [SQLiteValue] = []) throws -> [SQLiteRow] {
        let statement = try prepare(sql)
        try statement.bind(bindings)
        return try statement.allRows()
    }

    /// Runs one statement with named bindings and returns every result row.
    /// - Parameters:
    ///   - sql: One statement with `:name`, `@name` or `$name` parameters.
    ///   - bindings: Values by parameter name, with or without the `:` prefix.
    /// - Returns: All rows.
    /// - Throws: ``SQLiteError``; `.unknownParameter` if a name is not in the statement.
    @discardableResult
    public func query(_ sql: String, named bindings: [String: SQLiteValue]) throws -> [SQLiteRow] {
        let statement = try prepare(sql)
        try statement.bind(named: bindings)
        return try statement.allRows()
    }

    /// Runs `body` inside a transaction: `BEGIN IMMEDIATE`, then `COMMIT`, or `ROLLBACK` if `body` throws.
    ///
    /// Called inside another transaction, it uses a savepoint so only the inner work rolls back.
    /// - Parameter body: The work; it may use this connection freely.
    /// - Returns: What `body` returns.
    /// - Throws: The error `body` threw (after rolling back), or ``SQLiteError`` from `BEGIN`/`COMMIT`.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let nested = sqlite3_get_autocommit(handle) == 0
        try execute(nested ? "SAVEPOINT somnus_nested" : "BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute(nested ? "RELEASE somnus_nested" : "COMMIT")
            return value
        } catch {
            if nested {
                try? execute("ROLLBACK TO somnus_nested; RELEASE somnus_nested")
            } else if sqlite3_get_autocommit(handle) == 0 {
                try? execute("ROLLBACK")
            }
            throw error
        }
    }

    /// The row id of the most recent successful `INSERT` on this connection.
    /// The corresponding C function is `sqlite3_last_insert_rowid`.
    public var lastInsertRowID: Int64 {
        sqlite3_last_insert_rowid(handle)
    }

    /// Rows changed by the most recent `INSERT`, `UPDATE` or `DELETE` on this connection.
    /// The corresponding C function is `sqlite3_changes`.
    public var changes: Int {
        Int(sqlite3_changes(handle))
    }

    /// The schema version stored in `PRAGMA user_version`.
    /// - Throws: ``SQLiteError`` if the pragma cannot be read.
    public var userVersion: Int {
        get throws {
            try query("PRAGMA user_version").first?[0].intValue ?? 0
        }
    }

    /// The current journal mode, lower-cased (`wal` for files opened writable, `memory` in memory).
    /// - Throws: ``SQLiteError`` if the pragma cannot be read.
    public var journalMode: String {
        get throws {
            try queryText("PRAGMA journal_mode")?.lowercased() ?? ""
        }
    }

    /// Brings the schema up to date by running the migrations the database has not seen yet.
    ///
    /// Migration `i` runs when `user_version == i` and sets it to `i + 1`, each step in its own immediate
    /// transaction (so two processes migrating the same file do not run a step twice).
    /// - Parameter migrations: Every migration this program knows, oldest first. Never reorder or remove one.
    /// - Returns: How many migrations ran now.
    /// - Throws: ``SQLiteError`` with `.schemaTooNew` if the database's version is newer than `migrations`
    ///   (written by a newer program); any error of a migration, whose step is rolled back.
    @discardableResult
    public func migrate(_ migrations: [SQLiteMigration]) throws -> Int {
        var applied = 0
        while true {
            let ranOne = try transaction { () throws -> Bool in
                let version = try userVersion
                if version > migrations.count {
                    throw SQLiteError(
                        code: .schemaTooNew,
                        message: "database \(path) has schema version \(version) but this program knows only "
                            + "versions up to \(migrations.count); use a newer program"
                    )
                }
                guard version < migrations.count else {
                    return false
                }
                try migrations[version].apply(self)
                try execute("PRAGMA user_version = \(version + 1)")
                return true
            }
            guard ranOne else {
                return applied
            }
            applied += 1
        }
    }

    /// Whether the SQLite virtual-table module `name` (such as `fts5`) can be used.
    /// - Parameter name: A module name made of letters, digits and underscores.
    /// - Throws: ``SQLiteError`` with `.moduleMissing` naming the module when it is not available.
    public func requireModule(_ name: String) throws {
        precondition(
            !name.isEmpty
                && name.utf8.allSatisfy {
                    $0 == UInt8(ascii: "_") || (0x30...0x39).contains($0)
                        || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0)
                },
            "module names are identifiers"
        )
        let sql = "CREATE VIRTUAL TABLE temp.somnus_module_probe USING \(name)(probe)"
        do {
            try execute(sql)
        } catch let error as SQLiteError {
            throw SQLiteError(
                code: .moduleMissing,
                extendedCode: error.extendedCode,
                message: "SQLite module \(name) is not available in SQLite \(SQLiteDatabase.libraryVersion): "
                    + error.message,
                sql: sql
            )
        }
        try execute("DROP TABLE temp.somnus_module_probe")
    }

    /// Checks that full-text search (FTS5) is available.
    /// - Throws: ``SQLiteError`` with `.moduleMissing` when this SQLite was built without FTS5.
    public func requireFTS5() throws {
        try requireModule("fts5")
    }

    /// Runs `PRAGMA integrity_check` over the whole database.
    /// - Throws: ``SQLiteError`` with `.integrityCheckFailed` listing the problems found, or `.corrupt` if
    ///   SQLite cannot even read the file.
    public func integrityCheck() throws {
        let sql = "PRAGMA integrity_check"
        let problems = try query(sql).compactMap { $0[0].stringValue }
        guard problems != ["ok"] else {
            return
        }
        throw SQLiteError(
            code: .integrityCheckFailed,
            message: "integrity check of \(path) failed: " + problems.joined(separator: "; "),
            sql: sql
        )
    }

    /// The version of the linked SQLite library, such as `3.40.1`.
    public static var libraryVersion: String {
        String(cString: sqlite3_libversion())
    }

    private func queryText(_ sql: String) throws -> String? {
        switch try query(sql).first?[0] {
        case .text(let text): text
        case .integer(let number): String(number)
        default: nil
        }
    }
}

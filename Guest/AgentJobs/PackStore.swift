package import AgentAPI
package import AgentBasics
import FoundationEssentials
import SQLite
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The record of pack installs in `data_dir/packs.sqlite`: one row per finished job.
///
/// The database is opened on first use (creating the data directory). Calls block briefly: make them from a
/// pack job's thread or the NIO thread pool.
package final class PackStore: Sendable {
    /// The database file.
    package let path: String
    private let database = Mutex<SQLiteDatabase?>(nil)

    private static var migrations: [SQLiteMigration] {
        [
            SQLiteMigration(
                sql: """
                    CREATE TABLE pack_installs (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        job_id TEXT NOT NULL,
                        name TEXT NOT NULL,
                        version TEXT NOT NULL,
                        finished_at REAL NOT NULL,
                        result TEXT NOT NULL,
                        failed_step INTEGER,
                        error TEXT,
                        output_tail TEXT
                    );
                    CREATE INDEX pack_installs_by_name ON pack_installs (name, id);
                    """)
        ]
    }

    private static let columns = "name, version, finished_at, result, failed_step, error, output_tail"

    /// Creates a store for `dataDirectory/packs.sqlite`.
    package init(dataDirectory: String) {
        self.path = dataDirectory.hasSuffix("/") ? dataDirectory + "packs.sqlite" : dataDirectory + "/packs.sqlite"
    }

    /// Appends the outcome of one job.
    /// - Throws: ``AgentError`` (`io_error`) with SQLite's message.
    package func record(_ install: InstalledPack, jobID: String) throws(AgentError) {
        try withDatabase { database in
            _ = try database.query(
                "INSERT INTO pack_installs (job_id, \(Self.columns)) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    .text(jobID), .text(install.name), .text(install.version), .real(install.installedAt),
                    .text(install.result.rawValue), install.failedStep.map { .int($0) } ?? .null,
                    install.error.map { .text($0) } ?? .null, install.outputTail.map { .text($0) } ?? .null,
                ])
        }
    }

    /// The latest record of every pack, by name.
    /// - Throws: ``AgentError`` (`io_error`) with SQLite's message.
    package func latest() throws(AgentError) -> [InstalledPack] {
        try withDatabase { database in
            try database.query(
                """
                SELECT \(Self.columns) FROM pack_installs AS p
                WHERE id = (SELECT max(id) FROM pack_installs WHERE name = p.name) ORDER BY name
                """
            ).map(Self.install)
        }
    }

    /// The latest successful install of `name`, if there is one.
    /// - Throws: ``AgentError`` (`io_error`) with SQLite's message.
    package func installed(_ name: String) throws(AgentError) -> InstalledPack? {
        try withDatabase { database in
            try database.query(
                "SELECT \(Self.columns) FROM pack_installs WHERE name = ? AND result = ? ORDER BY id DESC LIMIT 1",
                [.text(name), .text(PackJobState.succeeded.rawValue)]
            ).first.map(Self.install)
        }
    }

    private static func install(_ row: SQLiteRow) -> InstalledPack {
        InstalledPack(
            name: row[0].stringValue ?? "",
            version: row[1].stringValue ?? "",
            installedAt: row[2].doubleValue ?? 0,
            result: PackJobState(rawValue: row[3].stringValue ?? "") ?? .failed,
            failedStep: row[4].intValue,
            error: row[5].stringValue,
            outputTail: row[6].stringValue
        )
    }

    /// Creates `path` empty with mode 0600 when missing (SQLite gives its `-wal` and `-shm` files the database
    /// file's mode), and sets 0600 on the database and its `-wal`, `-shm` and `-journal` files when they exist.
    package static func preparePrivateDatabase(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        for suffix in ["", "-wal", "-shm", "-journal"] { chmod(path + suffix, 0o600) }
    }

    private func withDatabase<Value>(_ body: (SQLiteDatabase) throws -> Value) throws(AgentError) -> Value {
        do {
            return try database.withLock { database in
                if database == nil {
                    let directory = path.parentDirectory
                    try FileManager.default.createDirectory(
                        atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                    Self.preparePrivateDatabase(path)
                    let opened = try SQLiteDatabase(path: path)
                    try opened.migrate(Self.migrations)
                    database = opened
                }
                guard let database else { throw AgentError(.internal, "the pack database is not open") }
                return try body(database)
            }
        } catch let error as AgentError {
            throw error
        } catch {
            throw AgentError(.io, "pack database \(path): \(error)", cause: error)
        }
    }
}

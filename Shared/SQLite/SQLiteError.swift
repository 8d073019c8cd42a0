/// A failure reported by SQLite or detected by this wrapper.
///
/// `message` is read from `sqlite3_errmsg` in the same synchronous call that saw the failing result code, so it
/// always describes that failure. Codes below zero are raised by the wrapper itself (for example a database
/// schema newer than the migrations this program knows).
public struct SQLiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A primary SQLite result code (or a wrapper-defined negative code).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        /// The numeric code: SQLite's primary result code, or a negative wrapper code.
        public var rawValue: Int32

        /// Creates a code from its numeric value.
        public init(rawValue: Int32) {
            self.rawValue = rawValue
        }

        /// Generic error, including SQL syntax errors and missing tables (`SQLITE_ERROR`).
        public static let error = Code(rawValue: 1)
        /// Internal logic error in SQLite (`SQLITE_INTERNAL`).
        public static let `internal` = Code(rawValue: 2)
        /// Access permission denied (`SQLITE_PERM`).
        public static let permission = Code(rawValue: 3)
        /// Callback routine requested an abort (`SQLITE_ABORT`).
        public static let abort = Code(rawValue: 4)
        /// The database file is locked by another connection (`SQLITE_BUSY`).
        public static let busy = Code(rawValue: 5)
        /// A table in the database is locked (`SQLITE_LOCKED`).
        public static let locked = Code(rawValue: 6)
        /// Out of memory (`SQLITE_NOMEM`).
        public static let noMemory = Code(rawValue: 7)
        /// Attempt to write a read-only database (`SQLITE_READONLY`).
        public static let readOnly = Code(rawValue: 8)
        /// Operation interrupted (`SQLITE_INTERRUPT`).
        public static let interrupt = Code(rawValue: 9)
        /// Disk I/O error (`SQLITE_IOERR`).
        public static let ioError = Code(rawValue: 10)
        /// The database disk image is malformed (`SQLITE_CORRUPT`).
        public static let corrupt = Code(rawValue: 11)
        /// Insertion failed because the database is full (`SQLITE_FULL`).
        public static let full = Code(rawValue: 13)
        /// Unable to open the database file (`SQLITE_CANTOPEN`).
        public static let cannotOpen = Code(rawValue: 14)
        /// The database schema changed (`SQLITE_SCHEMA`).
        public static let schema = Code(rawValue: 17)
        /// A string or blob exceeds the size limit (`SQLITE_TOOBIG`).
        public static let tooBig = Code(rawValue: 18)
        /// A UNIQUE, NOT NULL, CHECK, PRIMARY KEY or FOREIGN KEY constraint failed (`SQLITE_CONSTRAINT`).
        public static let constraint = Code(rawValue: 19)
        /// Data type mismatch (`SQLITE_MISMATCH`).
        public static let mismatch = Code(rawValue: 20)
        /// Library used incorrectly (`SQLITE_MISUSE`).
        public static let misuse = Code(rawValue: 21)
        /// Bind or column index out of range (`SQLITE_RANGE`).
        public static let range = Code(rawValue: 25)
        /// The file opened is not a database file (`SQLITE_NOTADB`).
        public static let notADatabase = Code(rawValue: 26)

        /// Wrapper code: the database's `user_version` is newer than the migrations this program knows.
        public static let schemaTooNew = Code(rawValue: -1)
        /// Wrapper code: a required SQLite module (such as FTS5) is not available.
        public static let moduleMissing = Code(rawValue: -2)
        /// Wrapper code: `PRAGMA integrity_check` reported problems.
        public static let integrityCheckFailed = Code(rawValue: -3)
        /// Wrapper code: a named parameter does not occur in the statement.
        public static let unknownParameter = Code(rawValue: -4)

        /// A short name of the code, such as `SQLITE_CONSTRAINT`.
        public var description: String {
            switch self {
            case .error: "SQLITE_ERROR"
            case .internal: "SQLITE_INTERNAL"
            case .permission: "SQLITE_PERM"
            case .abort: "SQLITE_ABORT"
            case .busy: "SQLITE_BUSY"
            case .locked: "SQLITE_LOCKED"
            case .noMemory: "SQLITE_NOMEM"
            case .readOnly: "SQLITE_READONLY"
            case .interrupt: "SQLITE_INTERRUPT"
            case .ioError: "SQLITE_IOERR"
            case .corrupt: "SQLITE_CORRUPT"
            case .full: "SQLITE_FULL"
            case .cannotOpen: "SQLITE_CANTOPEN"
            case .schema: "SQLITE_SCHEMA"
            case .tooBig: "SQLITE_TOOBIG"
            case .constraint: "SQLITE_CONSTRAINT"
            case .mismatch: "SQLITE_MISMATCH"
            case .misuse: "SQLITE_MISUSE"
            case .range: "SQLITE_RANGE"
            case .notADatabase: "SQLITE_NOTADB"
            case .schemaTooNew: "schema_too_new"
            case .moduleMissing: "module_missing"
            case .integrityCheckFailed: "integrity_check_failed"
            case .unknownParameter: "unknown_parameter"
            default: "SQLITE(\(rawValue))"
            }
        }
    }

    /// The primary result code.
    public var code: Code
    /// SQLite's extended result code (for example 2067, `SQLITE_CONSTRAINT_UNIQUE`); equals `code.rawValue` when
    /// there is no finer code.
    public var extendedCode: Int32
    /// The message, from `sqlite3_errmsg` or written by the wrapper.
    public var message: String
    /// The SQL text that failed, when known.
    public var sql: String?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The primary result code.
    ///   - extendedCode: The extended result code; defaults to the primary code.
    ///   - message: A sentence describing the failure.
    ///   - sql: The SQL text that failed, when known.
    public init(code: Code, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
        self.code = code
        self.extendedCode = extendedCode ?? code.rawValue
        self.message = message
        self.sql = sql
    }

    /// `SQLITE_CONSTRAINT (2067): UNIQUE constraint failed: t.name [SQL: INSERT …]`.
    public var description: String {
        var text = "\(code) (\(extendedCode)): \(message)"
        if let sql {
            text += " [SQL: \(sql)]"
        }
        return text
    }
}

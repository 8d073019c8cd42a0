internal import CSQLite3

/// A compiled SQL statement: bind parameters, step through rows, read typed columns, reset and reuse.
///
/// Parameter indexes are 1-based (as in SQLite); column indexes are 0-based. A statement keeps its
/// ``SQLiteDatabase`` alive and must be used by one caller at a time (it is not `Sendable`).
///
/// The corresponding C type is `sqlite3_stmt`.
public final class SQLiteStatement {
    private let statement: OpaquePointer
    /// The connection the statement belongs to.
    public let database: SQLiteDatabase
    /// The SQL text of the statement.
    public let sql: String

    init(database: SQLiteDatabase, sql: String) throws {
        var compiled: OpaquePointer?
        let result = sqlite3_prepare_v2(database.handle, sql, -1, &compiled, nil)
        try database.check(result, sql: sql)
        guard let compiled else {
            throw SQLiteError(code: .misuse, message: "the SQL text contains no statement", sql: sql)
        }
        self.statement = compiled
        self.database = database
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Binds one value to a 1-based parameter index.
    /// - Parameters:
    ///   - value: The value.
    ///   - index: The parameter index, starting at 1.
    /// - Throws: ``SQLiteError`` with `.range` if the index does not exist.
    /// The corresponding C functions are `sqlite3_bind_*`.
    public func bind(_ value: SQLiteValue, at index: Int) throws {
        let position = Int32(clamping: index)
        let result: Int32
        switch value {
        case .integer(let number):
            result = sqlite3_bind_int64(statement, position, number)
        case .real(let number):
            result = sqlite3_bind_double(statement, position, number)
        case .text(let text):
            result = text.withCString {
                sqlite3_bind_text(statement, position, $0, Int32(clamping: text.utf8.count), SQLiteDatabase.transient)
            }
        case .blob(let bytes):
            if bytes.isEmpty {
                result = sqlite3_bind_zeroblob(statement, position, 0)
            } else {
                result = bytes.withUnsafeBytes {
                    sqlite3_bind_blob(
                        statement, position, $0.baseAddress, Int32(clamping: bytes.count), SQLiteDatabase.transient)
                }
            }
        case .null:
            result = sqlite3_bind_null(statement, position)
        }
        try database.check(result, sql: sql)
    }

    /// Binds one value to a named parameter.
    /// - Parameters:
    ///   - value: The value.
    ///   - name: The parameter name as written (`:id`, `@id`, `$id`), or without prefix (then `:` is assumed).
    /// - Throws: ``SQLiteError`` with `.unknownParameter` if the statement has no such parameter.
    /// The corresponding C function is `sqlite3_bind_parameter_index`.
    public func bind(_ value: SQLiteValue, name: String) throws {
        var index = sqlite3_bind_parameter_index(statement, name)
        if index == 0, let first = name.utf8.first, first != UInt8(ascii: ":"), first != UInt8(ascii: "@"),
            first != UInt8(ascii: "$")
        {
            index = sqlite3_bind_parameter_index(statement, ":" + name)
        }
        guard index > 0 else {
            throw SQLiteError(
                code: .unknownParameter,
                message: "the statement has no parameter named \(name)",
                sql: sql
            )
        }
        try bind(value, at: Int(index))
    }

    /// Binds values to parameters 1, 2, 3, … in order.
    /// - Parameter values: One value per parameter.
    /// - Throws: ``SQLiteError`` with `.range` if there are more values than parameters.
    public func bind(_ values: [SQLiteValue]) throws {
        for (offset, value) in values.enumerated() {
            try bind(value, at: offset + 1)
        }
    }

    /// Binds values by parameter name.
    /// - Parameter values: Values keyed by parameter name (see ``bind(_:name:)``).
    /// - Throws: ``SQLiteError`` with `.unknownParameter` for a name the statement lacks.
    public func bind(named values: [String: SQLiteValue]) throws {
        for (name, value) in values {
            try bind(value, name: name)
        }
    }

    /// The number of parameters in the statement.
    public var parameterCount: Int {
        Int(sqlite3_bind_parameter_count(statement))
    }

    /// Advances to the next row.
    /// - Returns: `true` when a row is available for the column readers, `false` when the statement is done.
    /// - Throws: ``SQLiteError``, for example `.constraint` naming the violated column, or `.busy`.
    /// The corresponding C function is `sqlite3_step`.
    public func step() throws -> Bool {
        let result = sqlite3_step(statement)
        switch result {
        case SQLITE_ROW:
            return true
        case SQLITE_DONE:
            return false
        default:
            try database.check(result, sql: sql)
            return false
        }
    }

    /// Resets the statement so it can run again; bindings are kept.
    /// The corresponding C function is `sqlite3_reset`.
    public func reset() {
        // sqlite3_reset repeats the error of the last step, which `step()` already threw.
        sqlite3_reset(statement)
    }

    /// Sets every parameter back to `NULL`.
    /// The corresponding C function is `sqlite3_clear_bindings`.
    public func clearBindings() {
        sqlite3_clear_bindings(statement)
    }

    /// The number of columns in each result row.
    public var columnCount: Int {
        Int(sqlite3_column_count(statement))
    }

    /// The name of a result column.
    /// - Parameter index: The 0-based column index.
    /// - Returns: The column's name (its alias if it has one), or an empty string out of range.
    public func columnName(at index: Int) -> String {
        sqlite3_column_name(statement, Int32(clamping: index)).map { String(cString: $0) } ?? ""
    }

    /// Whether the column of the current row is `NULL`.
    /// - Parameter index: The 0-based column index.
    public func isNull(at index: Int) -> Bool {
        sqlite3_column_type(statement, Int32(clamping: index)) == SQLITE_NULL
    }

    /// The column of the current row as an integer (`NULL` reads as 0).
    /// - Parameter index: The 0-based column index.
    public func int64(at index: Int) -> Int64 {
        sqlite3_column_int64(statement, Int32(clamping: index))
    }

    /// The column of the current row as a Swift `Int` (`NULL` reads as 0).
    /// - Parameter index: The 0-based column index.
    public func int(at index: Int) -> Int {
        Int(int64(at: index))
    }

    /// The column of the current row as a double (`NULL` reads as 0).
    /// - Parameter index: The 0-based column index.
    public func double(at index: Int) -> Double {
        sqlite3_column_double(statement, Int32(clamping: index))
    }

    /// The column of the current row as text, or `nil` when it is `NULL`.
    /// - Parameter index: The 0-based column index.
    public func string(at index: Int) -> String? {
        let column = Int32(clamping: index)
        guard sqlite3_column_type(statement, column) != SQLITE_NULL, let text = sqlite3_column_text(statement, column)
        else {
            return nil
        }
        let count = Int(sqlite3_column_bytes(statement, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column of the current row as bytes, or `nil` when it is `NULL`.
    /// - Parameter index: The 0-based column index.
    public func blob(at index: Int) -> [UInt8]? {
        let column = Int32(clamping: index)
        guard sqlite3_column_type(statement, column) != SQLITE_NULL else {
            return nil
        }
        guard let bytes = sqlite3_column_blob(statement, column) else {
            return []
        }
        let count = Int(sqlite3_column_bytes(statement, column))
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    /// The column of the current row with its stored type.
    /// - Parameter index: The 0-based column index.
    public func value(at index: Int) -> SQLiteValue {
        switch sqlite3_column_type(statement, Int32(clamping: index)) {
        case SQLITE_INTEGER: .integer(int64(at: index))
        case SQLITE_FLOAT: .real(double(at: index))
        case SQLITE_TEXT: string(at: index).map { .text($0) } ?? .null
        case SQLITE_BLOB: blob(at: index).map { .blob($0) } ?? .null
        default: .null
        }
    }

    /// The current row with every column.
    public func row() -> SQLiteRow {
        let count = columnCount
        return SQLiteRow(
            columns: (0..<count).map { columnName(at: $0) },
            values: (0..<count).map { value(at: $0) }
        )
    }

    /// Steps to the end and collects every row, then resets the statement for reuse.
    /// - Returns: The rows.
    /// - Throws: ``SQLiteError`` from stepping.
    public func allRows() throws -> [SQLiteRow] {
        defer { reset() }
        var rows: [SQLiteRow] = []
        while try step() {
            rows.append(row())
        }
        return rows
    }

    /// Steps the statement to completion, ignoring rows, then resets it (for `INSERT`/`UPDATE`/`DELETE`).
    /// - Throws: ``SQLiteError`` from stepping.
    public func run() throws {
        defer { reset() }
        while try step() {}
    }
}

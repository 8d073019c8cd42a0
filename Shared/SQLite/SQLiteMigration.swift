/// One step of a schema migration; the list position defines the `user_version` it produces.
///
/// Migration `i` (zero-based) in the list passed to ``SQLiteDatabase/migrate(_:)`` moves the schema from
/// `user_version == i` to `i + 1`.
public struct SQLiteMigration {
    let apply: (SQLiteDatabase) throws -> Void

    /// A migration that runs a script of SQL statements.
    /// - Parameter sql: One or more SQL statements separated by semicolons.
    public init(sql: String) {
        self.apply = { try $0.execute(sql) }
    }

    /// A migration that runs arbitrary code against the database inside the migration's transaction.
    /// - Parameter body: Code that changes the schema or data; throwing rolls the step back.
    public init(_ body: @escaping (SQLiteDatabase) throws -> Void) {
        self.apply = body
    }
}

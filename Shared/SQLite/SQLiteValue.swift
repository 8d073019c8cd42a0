/// One SQLite value: what a parameter binds and what a column holds.
public enum SQLiteValue: Sendable, Hashable {
    /// A 64-bit signed integer.
    case integer(Int64)
    /// A double-precision float.
    case real(Double)
    /// UTF-8 text.
    case text(String)
    /// Raw bytes.
    case blob([UInt8])
    /// SQL `NULL`.
    case null

    /// An integer from a Swift `Int`.
    public static func int(_ value: Int) -> SQLiteValue {
        .integer(Int64(value))
    }

    /// The value as an integer when it is one (reals are not converted).
    public var int64Value: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    /// The value as a Swift `Int` when it is an integer.
    public var intValue: Int? {
        int64Value.map { Int($0) }
    }

    /// The value as a double when it is a real or an integer.
    public var doubleValue: Double? {
        switch self {
        case .real(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    /// The value as text when it is text.
    public var stringValue: String? {
        if case .text(let value) = self { value } else { nil }
    }

    /// The value as bytes when it is a blob.
    public var blobValue: [UInt8]? {
        if case .blob(let value) = self { value } else { nil }
    }

    /// Whether the value is SQL `NULL`.
    public var isNull: Bool {
        self == .null
    }
}

extension SQLiteValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByNilLiteral
{
    /// Creates an integer value from a literal.
    public init(integerLiteral value: Int64) {
        self = .integer(value)
    }

    /// Creates a real value from a literal.
    public init(floatLiteral value: Double) {
        self = .real(value)
    }

    /// Creates a text value from a literal.
    public init(stringLiteral value: String) {
        self = .text(value)
    }

    /// Creates `NULL` from `nil`.
    public init(nilLiteral: ()) {
        self = .null
    }
}

/// One result row: column names and values, in select order.
public struct SQLiteRow: Sendable, Hashable {
    /// Column names in select order.
    public let columns: [String]
    /// Values in select order.
    public let values: [SQLiteValue]

    /// Creates a row.
    /// - Parameters:
    ///   - columns: Column names.
    ///   - values: Values, one per column.
    public init(columns: [String], values: [SQLiteValue]) {
        precondition(columns.count == values.count, "a row needs one value per column")
        self.columns = columns
        self.values = values
    }

    /// The value at a column index; `.null` when the index is out of range.
    public subscript(index: Int) -> SQLiteValue {
        values.indices.contains(index) ? values[index] : .null
    }

    /// The value of the first column with this name, or `nil` if no column has it.
    public subscript(name: String) -> SQLiteValue? {
        columns.firstIndex(of: name).map { values[$0] }
    }
}

import AgentAPI
import Foundation
import Logging
import Memory
import SQLite

/// A temporary data directory removed when the value is released.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("memory-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        self.path = base.path
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    var databasePath: String { path + "/memory.sqlite" }
    var keyPath: String { path + "/memory.key" }

    func bytes(_ name: String) -> [UInt8] {
        FileManager.default.contents(atPath: path + "/" + name).map(Array.init) ?? []
    }
}

func quietLogger() -> Logger {
    var logger = Logger(label: "memory-tests")
    logger.logLevel = .critical
    return logger
}

func openStore(_ directory: TemporaryDirectory, cap: Int = MemoryStore.defaultNamespaceCap) throws -> MemoryStore {
    try MemoryStore(dataDirectory: directory.path, namespaceCap: cap, logger: quietLogger())
}

/// Whether `needle` occurs anywhere in `haystack`.
func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
    let pattern = Array(needle.utf8)
    guard !pattern.isEmpty, haystack.count >= pattern.count else {
        return false
    }
    for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
        if Array(haystack[start..<(start + pattern.count)]) == pattern {
            return true
        }
    }
    return false
}

/// A read-only look at a memory database.
struct SQLiteDatabaseProbe {
    let database: SQLiteDatabase

    init(_ directory: TemporaryDirectory) throws {
        database = try SQLiteDatabase(path: directory.databasePath, readOnly: true)
    }

    func count(_ sql: String) throws -> Int {
        try database.query(sql).first?[0].intValue ?? -1
    }
}

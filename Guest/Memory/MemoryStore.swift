public import AgentAPI
public import FoundationEssentials
public import Logging
import SQLite
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// An encrypted, searchable memory store in one SQLite file (`<dataDirectory>/memory.sqlite`, WAL mode).
///
/// Content, tags and metadata are sealed with AES-256-GCM; the full-text index (FTS5, BM25) holds keyed hashes
/// of terms; embeddings are sealed on disk and searched in memory. Every call is scoped to a namespace. See the
/// module README for the schema, the ranking and the retention rules.
///
/// All methods are synchronous and may block on disk; call them from a thread pool, not the cooperative pool.
// @unchecked Sendable: every mutable property (the connection's logical state, the cipher and the vector index)
// is read and written only while `lock` is held, so calls from several threads are serialized.
public final class MemoryStore: @unchecked Sendable {
    /// The largest content accepted, in UTF-8 bytes.
    public static let maxContentBytes = 65_536
    /// Default cap of memories per namespace used by ``enforceRetention(now:)``.
    public static let defaultNamespaceCap = 10_000
    /// The most rows `memory_history` keeps; older rows are pruned first.
    public static let maxHistoryRows = 20_000
    /// The most bytes of sealed records `memory_history` keeps (checked every 64 rows written); older rows are
    /// pruned first.
    public static let maxHistoryBytes = 32 << 20

    let lock = Mutex<Void>(())
    /// Embeddings of recent queries; its own lock, as queries are embedded outside `lock`.
    let queryCache = Mutex(MemoryQueryCache())
    let database: SQLiteDatabase
    var cipher: MemoryCipher
    let embedder: any MemoryEmbedder
    var index: MemoryVectorIndex
    /// The rowid after which memories still wait for the current embedder, or `nil` (see `MemoryStore+Reembedding`).
    var reembedCursor: Int64?
    let databasePath: String
    let keyPath: String
    let logger: Logger
    /// Memories per namespace above which ``enforceRetention(now:)`` evicts down to 95 %.
    public let namespaceCap: Int
    /// The most rows `memory_history` keeps (``maxHistoryRows`` unless a test says otherwise).
    public let historyRowCap: Int

    /// Opens (or creates) `<dataDirectory>/memory.sqlite` with its key `<dataDirectory>/memory.key`.
    ///
    /// The key file (32 random bytes, mode 0600) is made at first start and read afterwards. A file that is not a
    /// memory database is left untouched and reported as `.degraded`; a key that does not open the existing
    /// database is reported as `.wrongKey` and nothing is re-created.
    /// - Parameters:
    ///   - dataDirectory: The agent's data directory (created if missing).
    ///   - modelDirectory: A directory with `vocab.txt` and `encoder.safetensors` (the transformer that
    ///     `provisioning/fetch-memory-model.sh` writes) or with `tokenizer.json` and `model.safetensors` (a static
    ///     model); the hashed n-gram embedder is used when it is `nil` or the files are missing.
    ///   - namespaceCap: Memories per namespace above which retention evicts.
    ///   - historyRowCap: The most rows the history keeps.
    ///   - logger: Where start-up facts go.
    /// - Throws: ``MemoryError`` with `.degraded`, `.wrongKey`, `.invalidInput` (a broken model) or `.storage`.
    public init(
        dataDirectory: String, modelDirectory: String? = nil, namespaceCap: Int = MemoryStore.defaultNamespaceCap,
        historyRowCap: Int = MemoryStore.maxHistoryRows,
        logger: Logger
    ) throws(MemoryError) {
        self.logger = logger
        self.namespaceCap = max(1, namespaceCap)
        self.historyRowCap = max(1, historyRowCap)
        self.databasePath = dataDirectory + "/memory.sqlite"
        self.keyPath = dataDirectory + "/memory.key"
        do {
            try FileManager.default.createDirectory(
                atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw MemoryError.storage("cannot create the data directory \(dataDirectory): \(error)")
        }
        if let modelDirectory, let model = try TransformerEmbedder.load(directory: modelDirectory) {
            self.embedder = model
        } else if let modelDirectory, let model = try StaticModelEmbedder.load(directory: modelDirectory) {
            self.embedder = model
        } else {
            self.embedder = HashedNgramEmbedder()
        }
        self.index = MemoryVectorIndex(dimensions: embedder.dimensions)

        let existing = try Self.inspectExistingFile(databasePath)
        let pendingKeyPath = keyPath + ".new"
        var key = try MemoryKeyFile.load(keyPath)
        if existing && key == nil {
            throw MemoryError.wrongKey(
                "the memory database \(databasePath) exists but its key file \(keyPath) is missing; "
                    + "restore the key file (the database is left untouched)")
        }
        if key == nil {
            let fresh = MemoryCipher.randomMasterKey()
            try MemoryKeyFile.store(fresh, to: keyPath)
            key = fresh
        }
        guard let masterKey = key else {
            throw MemoryError.storage("no memory key")
        }
        Self.preparePrivateDatabase(databasePath)
        do {
            self.database = try SQLiteDatabase(path: databasePath)
            try database.requireFTS5()
            try database.execute("PRAGMA synchronous = NORMAL")
            // Deleted content is overwritten in the file, not left in free pages.
            try database.execute("PRAGMA secure_delete = ON")
            try database.migrate(MemorySchema.migrations)
        } catch let error as SQLiteError {
            if error.code == .notADatabase || error.code == .corrupt || error.code == .schemaTooNew {
                throw MemoryError.degraded("\(databasePath) is not a usable memory database: \(error.message)")
            }
            throw MemoryError.storage("cannot open \(databasePath): \(error)")
        } catch {
            throw MemoryError.storage("cannot open \(databasePath): \(error)")
        }
        self.cipher = MemoryCipher(masterKey: masterKey)
        if try !checkKey() {
            // A rotation may have committed before its new key file was installed.
            if let pending = try MemoryKeyFile.load(pendingKeyPath) {
                self.cipher = MemoryCipher(masterKey: pending)
                guard try checkKey() else {
                    throw MemoryError.wrongKey("neither \(keyPath) nor \(pendingKeyPath) opens \(databasePath)")
                }
                guard rename(pendingKeyPath, keyPath) == 0 else {
                    throw MemoryError.storage("cannot install \(pendingKeyPath) as \(keyPath)")
                }
            } else {
                throw MemoryError.wrongKey(
                    "the key in \(keyPath) does not open \(databasePath); refusing to re-create it")
            }
        }
        try loadVectors()
        logger.info(
            "memory store opened",
            metadata: [
                "memory.path": "\(databasePath)", "memory.embedder": "\(embedder.name)",
                "memory.count": "\(index.count)",
            ])
    }

    /// Creates `path` empty with mode 0600 when missing (SQLite gives its `-wal` and `-shm` files the database
    /// file's mode), and sets 0600 on the database and its `-wal`, `-shm` and `-journal` files when they exist.
    static func preparePrivateDatabase(_ path: String) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        if descriptor >= 0 { close(descriptor) }
        for suffix in ["", "-wal", "-shm", "-journal"] { chmod(path + suffix, 0o600) }
    }

    /// A file's size in bytes, 0 when it cannot be read. FoundationEssentials reports it as a `UInt` (which a
    /// program without full Foundation cannot cast to `Int`), full Foundation as an `NSNumber`.
    static func fileSize(_ path: String) -> Int64 {
        let value = (try? FileManager.default.attributesOfItem(atPath: path))?[.size]
        if let value = value as? any BinaryInteger { return Int64(value) }
        return Int64((value as? Int) ?? 0)
    }

    /// Whether a non-empty file is already there; throws `.degraded` if it is not a memory database.
    ///
    /// Reads it through a read-only connection so a foreign file is never modified (a writable open would
    /// switch its journal mode).
    private static func inspectExistingFile(_ path: String) throws(MemoryError) -> Bool {
        guard fileSize(path) > 0 else {
            return false
        }
        do {
            let probe = try SQLiteDatabase(path: path, readOnly: true)
            let tables = try probe.query("SELECT name FROM sqlite_schema WHERE type = 'table'").compactMap {
                $0[0].stringValue
            }
            if tables.isEmpty {
                return false
            }
            guard tables.contains("memory_meta") else {
                throw MemoryError.degraded(
                    "\(path) is an SQLite database of another program (tables: "
                        + tables.prefix(5).joined(separator: ", ") + "); it is left untouched")
            }
            return true
        } catch let error as MemoryError {
            throw error
        } catch let error as SQLiteError {
            throw MemoryError.degraded("\(path) is not a memory database: \(error.message); it is left untouched")
        } catch {
            throw MemoryError.degraded("\(path) cannot be read: \(error); it is left untouched")
        }
    }

    /// Checks the sealed marker in `memory_meta` (writing one in a new database).
    private func checkKey() throws(MemoryError) -> Bool {
        let marker = try sql { try database.query("SELECT value FROM memory_meta WHERE name = 'key_check'") }
        guard let sealed = marker.first?[0].blobValue else {
            let value = try cipher.seal(Array(MemorySchema.keyCheckPlaintext.utf8))
            try sql {
                try database.query(
                    "INSERT INTO memory_meta(name, value) VALUES ('key_check', ?)", [.blob(value)])
            }
            return true
        }
        do {
            return try cipher.open(sealed) == Array(MemorySchema.keyCheckPlaintext.utf8)
        } catch {
            return false
        }
    }

    /// Decrypts every vector into the index; memories still waiting for the current embedder get none.
    private func loadVectors() throws(MemoryError) {
        try convertLegacyVectors()
        reembedCursor = try prepareReembedding()
        index.removeAll()
        let counts = try sql { try database.query("SELECT namespace, count(*) FROM memories GROUP BY namespace") }
        for row in counts {
            index.reserve(namespace: row[0].stringValue ?? "", count: row[1].intValue ?? 0)
        }
        let statement = try sql {
            try database.prepare(
                "SELECT m.rowid, m.namespace, m.kind, m.created_at, m.tag_tokens, m.embedding, f.terms "
                    + "FROM memories m LEFT JOIN memory_fts f ON f.rowid = m.rowid")
        }
        do {
            while try statement.step() {
                let waiting = reembedCursor.map { statement.int64(at: 0) > $0 } ?? false
                let vector =
                    waiting
                    ? [Float](repeating: 0, count: embedder.dimensions)
                    : try vectorFromSealed(statement.blob(at: 5) ?? [])
                index.upsert(
                    rowID: statement.int64(at: 0),
                    namespace: statement.string(at: 1) ?? "",
                    entry: MemoryVectorIndex.Entry(
                        kind: MemoryKind(rawValue: statement.string(at: 2) ?? "") ?? .coreFact,
                        createdAt: statement.double(at: 3),
                        tagTokens: Self.tagTokenSet(statement.string(at: 4) ?? "")),
                    vector: vector,
                    terms: (statement.string(at: 6) ?? "").split(separator: " ").map { Self.termKey($0) })
            }
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError.storage("cannot load memory vectors: \(error)")
        }
    }

    /// Seals a vector as it is stored: its scale (F32, little-endian), then one int8 code per dimension (the
    /// index's quantization, ``MemoryVectorIndex/quantize(_:)``).
    func sealVector(_ vector: [Float]) throws(MemoryError) -> [UInt8] {
        let (codes, scale) = MemoryVectorIndex.quantize(vector)
        var bytes = [UInt8]()
        bytes.reserveCapacity(4 + codes.count)
        let bits = scale.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift)))
        }
        for code in codes {
            bytes.append(UInt8(bitPattern: code))
        }
        return try cipher.seal(bytes)
    }

    /// A stored vector: int8 codes with their scale, or the F32 values a store held before (`legacy`); zeros
    /// when it has another embedder's size.
    func vectorFromSealed(_ sealed: [UInt8]) throws(MemoryError) -> [Float] {
        try decodeVector(sealed).vector
    }

    func decodeVector(_ sealed: [UInt8]) throws(MemoryError) -> (vector: [Float], legacy: Bool) {
        let bytes = try cipher.open(sealed)
        let dimensions = embedder.dimensions
        func word(_ base: Int) -> UInt32 {
            UInt32(bytes[base]) | UInt32(bytes[base + 1]) << 8 | UInt32(bytes[base + 2]) << 16
                | UInt32(bytes[base + 3]) << 24
        }
        var vector = [Float](repeating: 0, count: dimensions)
        if bytes.count == dimensions + 4 {
            let scale = Float(bitPattern: word(0))
            for index in 0..<dimensions {
                vector[index] = Float(Int8(bitPattern: bytes[4 + index])) * scale
            }
            return (vector, false)
        }
        guard bytes.count == dimensions * 4 else {
            return (vector, false)
        }
        for index in 0..<dimensions {
            vector[index] = Float(bitPattern: word(index * 4))
        }
        return (vector, true)
    }

    /// Rows converted per transaction by ``convertLegacyVectors()``.
    static let vectorConversionBatch = 1_000

    /// Rewrites vectors stored as F32 (by stores before the int8 format) as int8 with their scale, a batch of
    /// rows per transaction; then records `vector_format` = `int8` in `memory_meta` so later opens skip the
    /// check. Each stored vector says its own format by its length, so a conversion killed half way is simply
    /// resumed at the next open.
    private func convertLegacyVectors() throws(MemoryError) {
        let marker = try sql { try database.query("SELECT value FROM memory_meta WHERE name = 'vector_format'") }
        guard marker.isEmpty else {
            return
        }
        var cursor: Int64 = 0
        var converted = 0
        while true {
            let rows = try sql {
                try database.query(
                    "SELECT rowid, embedding FROM memories WHERE rowid > ? ORDER BY rowid LIMIT ?",
                    [.integer(cursor), .integer(Int64(Self.vectorConversionBatch))])
            }
            try transaction { () throws(MemoryError) in
                for row in rows {
                    guard let rowID = row[0].int64Value, let sealed = row[1].blobValue else { continue }
                    let (vector, legacy) = try decodeVector(sealed)
                    guard legacy else { continue }
                    try sql {
                        try database.query(
                            "UPDATE memories SET embedding = ? WHERE rowid = ?",
                            [.blob(try sealVector(vector)), .integer(rowID)])
                    }
                    converted += 1
                }
                if rows.count < Self.vectorConversionBatch {
                    try setMeta("vector_format", .text("int8"))
                }
            }
            guard rows.count == Self.vectorConversionBatch, let last = rows.last?[0].int64Value else {
                break
            }
            cursor = last
        }
        if converted > 0 {
            logger.info("memory vectors converted to int8", metadata: ["memory.count": "\(converted)"])
        }
    }

    static func tagTokenSet(_ text: String) -> Set<String> {
        Set(text.split(separator: " ").map(String.init))
    }

    /// Runs SQLite work, turning its errors into `.storage`.
    func sql<T>(_ body: () throws -> T) throws(MemoryError) -> T {
        do {
            return try body()
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError.storage("memory database failure: \(error)")
        }
    }

    /// Runs `body` in one immediate transaction.
    func transaction<T>(_ body: () throws(MemoryError) -> T) throws(MemoryError) -> T {
        do {
            return try database.transaction { () throws -> T in try body() }
        } catch let error as MemoryError {
            throw error
        } catch {
            throw MemoryError.storage("memory transaction failed: \(error)")
        }
    }

    /// Runs `body` holding the store's lock.
    func locked<T>(_ body: () throws(MemoryError) -> T) throws(MemoryError) -> T {
        try lock.withLock { _ throws(MemoryError) -> T in try body() }
    }

    /// The embedder's name, as reported in search and stats answers.
    public var embedderName: String {
        embedder.name
    }

    /// The BM25 list's weight in hybrid search (the vector list weighs 1); it depends on the embedder.
    public var embedderBM25Weight: Double {
        embedder.bm25Weight
    }

    /// Heap bytes of each part of the in-memory index (vectors, sign bits, row maps, filter entries, postings),
    /// for measuring where the store's memory goes; the embedder's model is not included.
    public var indexPartBytes: [(part: String, bytes: Int)] {
        lock.withLock { _ in index.partBytes }
    }

    /// The embedding of `text` as the store computes it for a memory or a query (for measuring the embedder).
    public func embed(_ text: String) -> [Float] {
        embedder.embed(text)
    }
}

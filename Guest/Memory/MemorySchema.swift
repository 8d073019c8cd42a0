import SQLite

/// The memory database schema.
///
/// `memories` keeps only what filtering and ranking need in the clear (namespace, kind, importance, times,
/// access count, keyed hashes); the content, tags and metadata are one sealed JSON payload, and the embedding is
/// sealed too. `memory_fts` is an FTS5 table over keyed term hashes whose rowid is the memory's rowid.
/// `memory_history` records every add, update, merge and delete with the old and new records, sealed; once a
/// memory is deleted (deleted, expired or evicted) its rows keep only the facts (id, namespace, action, time,
/// kind), never the records. The table is bounded by ``MemoryStore/maxHistoryRows`` and
/// ``MemoryStore/maxHistoryBytes``, oldest rows pruned first.
enum MemorySchema {
    static let keyCheckPlaintext = "somnus-memory-key-check-v1"

    static var migrations: [SQLiteMigration] {
        [
            SQLiteMigration { database in
                try database.execute(
                    """
                    CREATE TABLE memory_meta(name TEXT PRIMARY KEY, value BLOB NOT NULL);
                    CREATE TABLE memories(
                        rowid INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        namespace TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        importance TEXT NOT NULL,
                        sealed BLOB NOT NULL,
                        tag_tokens TEXT NOT NULL,
                        content_hash TEXT NOT NULL,
                        created_at REAL NOT NULL,
                        updated_at REAL NOT NULL,
                        last_accessed_at REAL,
                        access_count INTEGER NOT NULL DEFAULT 0,
                        expires_at REAL,
                        embedding BLOB NOT NULL
                    );
                    CREATE INDEX memories_by_hash ON memories(namespace, content_hash);
                    CREATE INDEX memories_by_namespace ON memories(namespace, created_at);
                    CREATE VIRTUAL TABLE memory_fts USING fts5(terms);
                    CREATE TABLE memory_history(
                        seq INTEGER PRIMARY KEY,
                        memory_id TEXT NOT NULL,
                        namespace TEXT NOT NULL,
                        action TEXT NOT NULL,
                        at REAL NOT NULL,
                        old_sealed BLOB,
                        new_sealed BLOB
                    );
                    CREATE INDEX memory_history_by_memory ON memory_history(memory_id);
                    """)
            },
            // Forget means forget: the kind of a deletion is kept in the clear, and the records of memories
            // deleted before this version are purged from their history.
            SQLiteMigration { database in
                try database.execute(
                    """
                    ALTER TABLE memory_history ADD COLUMN kind TEXT;
                    UPDATE memory_history SET old_sealed = NULL, new_sealed = NULL
                        WHERE memory_id IN (
                            SELECT memory_id FROM memory_history WHERE action IN ('delete', 'expire', 'evict'))
                        AND memory_id NOT IN (SELECT id FROM memories);
                    """)
            },
        ]
    }
}

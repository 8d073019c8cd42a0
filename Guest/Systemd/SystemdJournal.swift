internal import CSystemd

#if canImport(Glibc)
    internal import Glibc
#endif

/// One journal entry with the fields the agent reports.
public struct SystemdJournalEntry: Sendable, Equatable {
    /// The entry's cursor; persist it to resume reading after this entry.
    public var cursor: String
    /// Wall-clock time of the entry, in microseconds since the Unix epoch.
    public var realtimeMicroseconds: UInt64
    /// `MESSAGE`, or an empty string when the entry has none.
    public var message: String
    /// `_SYSTEMD_UNIT`, when present.
    public var unit: String?
    /// `PRIORITY` (0 emergency … 7 debug), when present and numeric.
    public var priority: Int?
    /// `SYSLOG_IDENTIFIER`, when present.
    public var identifier: String?

    /// Creates an entry.
    public init(
        cursor: String,
        realtimeMicroseconds: UInt64,
        message: String,
        unit: String? = nil,
        priority: Int? = nil,
        identifier: String? = nil
    ) {
        self.cursor = cursor
        self.realtimeMicroseconds = realtimeMicroseconds
        self.message = message
        self.unit = unit
        self.priority = priority
        self.identifier = identifier
    }
}

/// What ``SystemdJournal/wait(timeout:)`` saw.
public enum SystemdJournalWaitResult: Sendable, Equatable {
    /// Nothing changed before the timeout.
    case timedOut
    /// New entries were appended.
    case appended
    /// Journal files were added or removed; reading on with ``SystemdJournal/next()`` is still right.
    case invalidated
}

/// A reader of the systemd journal: the local journal, a directory, or explicit journal files.
///
/// The handle is used by one caller at a time (the type is not `Sendable`). Every call blocks briefly on file
/// I/O, and ``wait(timeout:)`` blocks for up to its timeout, so call it from a dedicated thread or thread pool.
public final class SystemdJournal {
    private let handle: OpaquePointer

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        sd_journal_close(handle)
    }

    /// Opens the local machine's journal (system and user journals of this boot and earlier ones).
    /// - Throws: ``SystemdError`` when the journal cannot be opened.
    ///
    /// The corresponding C function is `sd_journal_open`.
    public convenience init() throws(SystemdError) {
        var pointer: OpaquePointer?
        try SystemdError.check(sd_journal_open(&pointer, Int32(SD_JOURNAL_LOCAL_ONLY)), "sd_journal_open")
        guard let pointer else { throw SystemdError(errno: ENOMEM, function: "sd_journal_open") }
        self.init(handle: pointer)
    }

    /// Opens the journal files in a directory, such as `/var/log/journal/<machine-id>`.
    /// - Parameter directory: The directory's path.
    /// - Throws: ``SystemdError`` when the directory cannot be opened.
    ///
    /// The corresponding C function is `sd_journal_open_directory`.
    public convenience init(directory: String) throws(SystemdError) {
        var pointer: OpaquePointer?
        let result = directory.withCString { sd_journal_open_directory(&pointer, $0, 0) }
        try SystemdError.check(result, "sd_journal_open_directory")
        guard let pointer else { throw SystemdError(errno: ENOMEM, function: "sd_journal_open_directory") }
        self.init(handle: pointer)
    }

    /// Opens explicit journal files.
    /// - Parameter files: Paths of `.journal` files.
    /// - Throws: ``SystemdError`` when a file cannot be opened.
    ///
    /// The corresponding C function is `sd_journal_open_files`.
    public convenience init(files: [String]) throws(SystemdError) {
        var pointer: OpaquePointer?
        let copies: [UnsafeMutablePointer<CChar>?] = files.map { strdup($0) } + [nil]
        defer { copies.forEach { free($0) } }
        var constants = copies.map { $0.map { UnsafePointer($0) } }
        let result = constants.withUnsafeMutableBufferPointer { buffer in
            sd_journal_open_files(&pointer, buffer.baseAddress, 0)
        }
        try SystemdError.check(result, "sd_journal_open_files")
        guard let pointer else { throw SystemdError(errno: ENOMEM, function: "sd_journal_open_files") }
        self.init(handle: pointer)
    }

    /// Restricts reading to entries where `field` equals `value`, such as `_SYSTEMD_UNIT`, `nginx.service`.
    /// Matches on different fields are combined with AND, on the same field with OR.
    /// - Throws: ``SystemdError`` when the match is malformed.
    ///
    /// The corresponding C function is `sd_journal_add_match`.
    public func addMatch(field: String, value: String) throws(SystemdError) {
        let text = "\(field)=\(value)"
        let result = text.withCString { sd_journal_add_match(handle, $0, text.utf8.count) }
        try SystemdError.check(result, "sd_journal_add_match")
    }

    /// Moves before the first entry, so ``next()`` returns the oldest one.
    /// - Throws: ``SystemdError`` on failure.
    ///
    /// The corresponding C function is `sd_journal_seek_head`.
    public func seekHead() throws(SystemdError) {
        try SystemdError.check(sd_journal_seek_head(handle), "sd_journal_seek_head")
    }

    /// Moves to the newest entry, so ``next()`` returns only entries appended from now on.
    /// - Throws: ``SystemdError`` on failure.
    ///
    /// The corresponding C functions are `sd_journal_seek_tail` and `sd_journal_previous`.
    public func seekTail() throws(SystemdError) {
        try SystemdError.check(sd_journal_seek_tail(handle), "sd_journal_seek_tail")
        try SystemdError.check(sd_journal_previous(handle), "sd_journal_previous")
    }

    /// Moves to the entry a persisted cursor names, so ``next()`` returns the entry after it.
    ///
    /// When the entry itself is gone (rotated away), reading resumes at the nearest later entry.
    /// - Parameter cursor: A cursor from ``SystemdJournalEntry/cursor``.
    /// - Throws: ``SystemdError`` when the cursor is malformed (`EINVAL`).
    ///
    /// The corresponding C functions are `sd_journal_seek_cursor` and `sd_journal_test_cursor`.
    public func seek(after cursor: String) throws(SystemdError) {
        let result = cursor.withCString { sd_journal_seek_cursor(handle, $0) }
        try SystemdError.check(result, "sd_journal_seek_cursor")
        let moved = try SystemdError.check(sd_journal_next(handle), "sd_journal_next")
        guard moved > 0 else { return }
        let same = cursor.withCString { sd_journal_test_cursor(handle, $0) }
        if try SystemdError.check(same, "sd_journal_test_cursor") == 0 {
            // The cursor's entry is gone and we stand on a later one: step back so next() returns it.
            try SystemdError.check(sd_journal_previous(handle), "sd_journal_previous")
        }
    }

    /// Reads the next entry.
    /// - Returns: The entry, or `nil` at the end of the journal.
    /// - Throws: ``SystemdError`` when the journal cannot be read.
    ///
    /// The corresponding C function is `sd_journal_next`.
    public func next() throws(SystemdError) -> SystemdJournalEntry? {
        let moved = try SystemdError.check(sd_journal_next(handle), "sd_journal_next")
        guard moved > 0 else { return nil }
        return try currentEntry()
    }

    /// Waits until the journal changes or the timeout passes.
    /// - Parameter timeout: The longest time to block.
    /// - Returns: What changed.
    /// - Throws: ``SystemdError`` on failure.
    ///
    /// The corresponding C function is `sd_journal_wait`.
    public func wait(timeout: Duration) throws(SystemdError) -> SystemdJournalWaitResult {
        let (seconds, attoseconds) = timeout.components
        let micro = max(0, seconds) * 1_000_000 + max(0, attoseconds) / 1_000_000_000_000
        let result = try SystemdError.check(sd_journal_wait(handle, UInt64(micro)), "sd_journal_wait")
        switch result {
        case Int32(SD_JOURNAL_APPEND): return .appended
        case Int32(SD_JOURNAL_INVALIDATE): return .invalidated
        default: return .timedOut
        }
    }

    private func currentEntry() throws(SystemdError) -> SystemdJournalEntry {
        var cursorPointer: UnsafeMutablePointer<CChar>?
        try SystemdError.check(sd_journal_get_cursor(handle, &cursorPointer), "sd_journal_get_cursor")
        defer { free(cursorPointer) }
        let cursor = cursorPointer.map { String(cString: $0) } ?? ""
        var realtime: UInt64 = 0
        try SystemdError.check(sd_journal_get_realtime_usec(handle, &realtime), "sd_journal_get_realtime_usec")
        let priority = try field("PRIORITY").flatMap { Int($0) }
        return SystemdJournalEntry(
            cursor: cursor,
            realtimeMicroseconds: realtime,
            message: try field("MESSAGE") ?? "",
            unit: try field("_SYSTEMD_UNIT"),
            priority: priority,
            identifier: try field("SYSLOG_IDENTIFIER")
        )
    }

    /// The value of one field of the current entry, or `nil` when the entry lacks it.
    private func field(_ name: String) throws(SystemdError) -> String? {
        var data: UnsafeRawPointer?
        var length = 0
        let result = name.withCString { sd_journal_get_data(handle, $0, &data, &length) }
        if result == -ENOENT { return nil }
        try SystemdError.check(result, "sd_journal_get_data")
        guard let data else { return nil }
        let bytes = UnsafeRawBufferPointer(start: data, count: length)
        let prefix = name.utf8.count + 1
        guard bytes.count >= prefix else { return "" }
        return String(decoding: bytes[prefix...], as: UTF8.self)
    }
}

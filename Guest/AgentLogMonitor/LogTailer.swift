public import AgentBasics
import FoundationEssentials
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// One complete line read by ``LogTailer``.
public struct LogTailerLine: Sendable, Hashable {
    /// The configured path the line came from (also for lines finished from a rotated file).
    public var path: String
    /// The line's bytes without the trailing `\n` (possibly not UTF-8).
    public var bytes: [UInt8]

    /// Creates a line.
    public init(path: String, bytes: [UInt8]) {
        self.path = path
        self.bytes = bytes
    }

    /// The line decoded as UTF-8, invalid sequences replaced.
    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

/// The persisted position in one tailed file.
public struct LogTailerPosition: Codable, Sendable, Hashable {
    /// The configured path.
    public var path: String
    /// The inode of the file being read.
    public var inode: UInt64
    /// The byte offset just past the last complete line handed out.
    public var offset: Int64

    /// Creates a position.
    public init(path: String, inode: UInt64, offset: Int64) {
        self.path = path
        self.inode = inode
        self.offset = offset
    }
}

/// Tails log files incrementally, surviving rotation by rename and truncation, and persisting its position.
///
/// Each ``poll()`` reads what was appended since the last one and returns the complete lines; a trailing partial
/// line waits for its `\n`. When the path names a new inode (rotation by rename), the old file is read to its end
/// through the descriptor kept open (its trailing partial line is then handed out too); files rotated after it
/// and before the current one (two or more rotations between polls, `app.log` → `app.log.1` → `app.log.2`) are
/// found among the siblings named `<name>.…`/`<name>-…` modified since, and read whole, oldest first; then the new
/// file from offset 0. When a file shrinks below the offset (truncation), reading restarts at 0.
///
/// Positions `{path, inode, offset}` are either written atomically to `<stateDirectory>/log-tailer.json` after
/// each poll (``init(paths:stateDirectory:startPosition:chunkSize:maximumLineBytes:maximumBytesPerPoll:)``), or
/// left to the caller, who saves ``positions`` together with whatever it made of the lines
/// (``init(paths:positions:startPosition:chunkSize:maximumLineBytes:maximumBytesPerPoll:)``), so one atomic write
/// covers both. A restarted tailer neither loses nor repeats lines; on restart after a rotation, the old inode is
/// looked for among the directory's other files and finished first.
///
/// File reads run in chunks on `NIOThreadPool`, never on the cooperative pool.
public actor LogTailer {
    /// Where to start a file that has no persisted position and is seen for the first time.
    public enum StartPosition: Sendable {
        /// Read the whole existing content.
        case beginning
        /// Skip the existing content; read only what is appended later.
        case end
    }

    /// The state file's name inside the state directory.
    public static let stateFileName = "log-tailer.json"

    private let paths: [String]
    private let statePath: String?
    private let startPosition: StartPosition
    private let limits: ReadLimits
    private var files: [String: TailedFile] = [:]
    private var polling = false

    /// Problems met by the last poll, keyed by file path (or the state file's path): a sentence each.
    public private(set) var failures: [String: String] = [:]

    /// Creates a tailer that persists its positions itself and loads the persisted ones.
    /// - Parameters:
    ///   - paths: The files to follow (they need not exist yet).
    ///   - stateDirectory: The directory for `log-tailer.json` (created if missing).
    ///   - startPosition: Where to start a file never seen before.
    ///   - chunkSize: Bytes per `read` call.
    ///   - maximumLineBytes: Longer lines are split at this length (bounded memory).
    ///   - maximumBytesPerPoll: The most bytes read from one file in one poll; the rest waits for the next.
    /// - Throws: ``AgentError`` with code `io_error` when the state directory cannot be created or the state file
    ///   cannot be read or decoded.
    public init(
        paths: [String], stateDirectory: String, startPosition: StartPosition = .beginning, chunkSize: Int = 64 * 1024,
        maximumLineBytes: Int = 64 * 1024, maximumBytesPerPoll: Int = 8 * 1024 * 1024
    ) throws(AgentError) {
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw AgentError(.io, "cannot create the log tailer's state directory \(stateDirectory)", cause: error)
        }
        let statePath = FilePaths.join(stateDirectory, Self.stateFileName)
        self.init(
            paths: paths, statePath: statePath, positions: try Self.loadPositions(statePath) ?? [],
            startPosition: startPosition,
            limits: ReadLimits(chunk: chunkSize, line: maximumLineBytes, poll: maximumBytesPerPoll))
    }

    /// Creates a tailer that starts from `positions` and persists nothing: the caller saves ``positions`` after
    /// each poll, together with what it made of the lines.
    /// - Parameters:
    ///   - paths: The files to follow (they need not exist yet).
    ///   - positions: Where reading stopped before (positions of other paths are ignored).
    ///   - startPosition: Where to start a file never seen before.
    ///   - chunkSize: Bytes per `read` call.
    ///   - maximumLineBytes: Longer lines are split at this length (bounded memory).
    ///   - maximumBytesPerPoll: The most bytes read from one file in one poll; the rest waits for the next.
    public init(
        paths: [String], positions: [LogTailerPosition], startPosition: StartPosition = .beginning,
        chunkSize: Int = 64 * 1024, maximumLineBytes: Int = 64 * 1024, maximumBytesPerPoll: Int = 8 * 1024 * 1024
    ) {
        self.init(
            paths: paths, statePath: nil, positions: positions, startPosition: startPosition,
            limits: ReadLimits(chunk: chunkSize, line: maximumLineBytes, poll: maximumBytesPerPoll))
    }

    private init(
        paths: [String], statePath: String?, positions: [LogTailerPosition], startPosition: StartPosition,
        limits: ReadLimits
    ) {
        precondition(limits.chunk > 0 && limits.line > 0 && limits.poll > 0, "sizes must be positive")
        self.paths = paths
        self.statePath = statePath
        self.startPosition = startPosition
        self.limits = limits
        for position in positions where paths.contains(position.path) {
            files[position.path] = TailedFile(path: position.path, inode: position.inode, offset: position.offset)
        }
    }

    deinit {
        for file in files.values where file.descriptor >= 0 { close(file.descriptor) }
    }

    /// The current positions, one per file that has been opened, sorted by path: just past the last line handed
    /// out by the last poll.
    public var positions: [LogTailerPosition] {
        files.values.filter { $0.inode != 0 }.map {
            LogTailerPosition(path: $0.path, inode: $0.inode, offset: max(0, $0.offset))
        }
        .sorted { $0.path < $1.path }
    }

    /// Reads every file's new complete lines and, when the tailer owns its state file, persists the new positions.
    ///
    /// A file that cannot be opened or read, or a state file that cannot be written, does not fail the poll (the
    /// lines already read are never thrown away): the problem is reported in ``failures`` until the next poll.
    /// - Returns: The lines, grouped by file in configuration order, each file's lines in order.
    /// - Throws: ``AgentError`` with code `internal_error` when another poll is running or the thread pool is shut.
    public func poll() async throws(AgentError) -> [LogTailerLine] {
        guard !polling else { throw AgentError(.internal, "a log tailer poll is already running") }
        polling = true
        defer { polling = false }
        let snapshot = paths.map { files[$0] ?? TailedFile(path: $0, inode: 0, offset: -1) }
        let limits = limits
        let start = startPosition
        let state = statePath
        let updated: [TailedFile]
        let lines: [LogTailerLine]
        let problems: [String: String]
        do {
            (updated, lines, problems) = try await NIOThreadPool.singleton.runIfActive {
                var updated: [TailedFile] = []
                var lines: [LogTailerLine] = []
                var problems: [String: String] = [:]
                for var file in snapshot {
                    do throws(AgentError) {
                        try file.advance(limits: limits, startPosition: start, into: &lines)
                    } catch {
                        problems[file.path] = error.message
                    }
                    updated.append(file)
                }
                if let state {
                    do throws(AgentError) {
                        try Self.savePositions(updated, to: state)
                    } catch {
                        problems[state] = error.description
                    }
                }
                return (updated, lines, problems)
            }
        } catch {
            throw AgentError(.internal, "the thread pool is not running", cause: error)
        }
        for file in updated where file.inode != 0 || file.descriptor >= 0 { files[file.path] = file }
        failures = problems
        return lines
    }

    /// The positions saved in a `log-tailer.json`, or `nil` when the file does not exist.
    /// - Throws: ``AgentError`` (`io_error`) naming the file when it cannot be read or decoded.
    package static func loadPositions(_ path: String) throws(AgentError) -> [LogTailerPosition]? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            return try JSONDecoder().decode([LogTailerPosition].self, from: data)
        } catch {
            throw AgentError(.io, "cannot read the log tailer state \(path)", cause: error)
        }
    }

    private static func savePositions(_ files: [TailedFile], to path: String) throws(AgentError) {
        let positions = files.filter { $0.inode != 0 }.map {
            LogTailerPosition(path: $0.path, inode: $0.inode, offset: max(0, $0.offset))
        }
        let data: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            data = try encoder.encode(positions)
        } catch {
            throw AgentError(.io, "cannot encode the log tailer state \(path)", cause: error)
        }
        try DurableFile.write(data, to: path)
    }
}

/// Read sizes for one poll.
package struct ReadLimits: Sendable {
    package var chunk: Int
    package var line: Int
    package var poll: Int
}

/// One followed path: the open descriptor (or -1), its inode and the offset past the last complete line.
package struct TailedFile: Sendable {
    package var path: String
    package var inode: UInt64
    /// -1 means "never seen": start according to the start position.
    package var offset: Int64
    package var descriptor: Int32 = -1
    /// Inodes of files this tailer read to their end lately (never read again as a rotated sibling).
    package var finished: [UInt64] = []

    package init(path: String, inode: UInt64, offset: Int64) {
        self.path = path
        self.inode = inode
        self.offset = offset
    }

    /// Reads new complete lines; follows rotation and truncation.
    package mutating func advance(
        limits: ReadLimits, startPosition: LogTailer.StartPosition, into lines: inout [LogTailerLine]
    ) throws(AgentError) {
        if descriptor < 0 {
            guard let current = FileStatus(path: path) else { return }  // Not there yet.
            if offset < 0 {
                offset = startPosition == .end ? current.size : 0
                inode = current.inode
            } else if current.inode != inode {
                // Rotated while we were not running: finish the old inode if it is still nearby, then the files
                // rotated after it.
                if let rotated = Self.find(inode: inode, near: path) {
                    var old = TailedFile(path: path, inode: inode, offset: offset)
                    old.descriptor = try Self.open(rotated)
                    defer { close(old.descriptor) }
                    try old.read(limits: limits, finishing: true, into: &lines)
                    let modified = FileStatus(descriptor: old.descriptor)?.modified ?? .max
                    finished.append(inode)
                    try readRotated(since: modified, current: current.inode, limits: limits, into: &lines)
                }
                inode = current.inode
                offset = 0
            }
            descriptor = try Self.open(path)
            if let reopened = FileStatus(descriptor: descriptor), reopened.inode != inode {
                // Replaced between the stat and the open: start the new file from 0.
                inode = reopened.inode
                offset = 0
            }
        }
        if (FileStatus(descriptor: descriptor)?.size ?? 0) < offset { offset = 0 }  // Truncated.
        try read(limits: limits, finishing: false, into: &lines)
        if let current = FileStatus(path: path), current.inode != inode {
            // Rotated by rename: finish the old file through the descriptor kept open, then every file rotated
            // after it (more than one rotation since the last poll), then follow the new one from its start.
            try read(limits: limits, finishing: true, into: &lines)
            let modified = FileStatus(descriptor: descriptor)?.modified ?? .max
            close(descriptor)
            descriptor = -1
            finished.append(inode)
            try readRotated(since: modified, current: current.inode, limits: limits, into: &lines)
            descriptor = try Self.open(path)
            inode = FileStatus(descriptor: descriptor)?.inode ?? current.inode
            offset = 0
            try read(limits: limits, finishing: false, into: &lines)
        }
        if finished.count > 16 { finished.removeFirst(finished.count - 16) }
    }

    /// Reads whole every sibling rotated after the file just finished: named `<name>.…` or `<name>-…` (not
    /// compressed), modified at or after `modified`, neither the current file nor one read before; oldest first.
    private mutating func readRotated(
        since modified: Int64, current: UInt64, limits: ReadLimits, into lines: inout [LogTailerLine]
    ) throws(AgentError) {
        var candidates: [(path: String, status: FileStatus)] = []
        for sibling in Self.siblings(of: path) {
            guard let status = FileStatus(path: sibling), status.isRegular, status.modified >= modified,
                status.inode != current, !finished.contains(status.inode)
            else { continue }
            candidates.append((sibling, status))
        }
        candidates.sort { ($0.status.modified, $0.path) < ($1.status.modified, $1.path) }
        for candidate in candidates {
            var rotated = TailedFile(path: path, inode: candidate.status.inode, offset: 0)
            rotated.descriptor = try Self.open(candidate.path)
            defer { close(rotated.descriptor) }
            try rotated.read(limits: limits, finishing: true, into: &lines)
            finished.append(candidate.status.inode)
        }
    }

    /// Reads complete lines from `offset` to the end (or the poll limit); with `finishing`, a trailing partial line
    /// is handed out too.
    private mutating func read(limits: ReadLimits, finishing: Bool, into lines: inout [LogTailerLine])
        throws(AgentError)
    {
        var buffer = [UInt8](repeating: 0, count: limits.chunk)
        var line: [UInt8] = []
        var position = offset
        var budget = limits.poll
        while budget > 0 || finishing {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(position)) }
            if count < 0 {
                if errno == EINTR { continue }
                throw AgentError(.io, "cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            position += Int64(count)
            budget -= count
            buffer.withUnsafeBufferPointer { bytes in
                var start = 0
                while start < count, let newline = Self.newline(in: bytes, from: start, to: count) {
                    if line.isEmpty {
                        lines.append(LogTailerLine(path: path, bytes: Array(bytes[start..<newline])))
                    } else {
                        line.append(contentsOf: bytes[start..<newline])
                        lines.append(LogTailerLine(path: path, bytes: line))
                        line.removeAll(keepingCapacity: true)
                    }
                    start = newline + 1
                    offset = position - Int64(count - start)
                }
                line.append(contentsOf: bytes[start..<count])
            }
            while line.count >= limits.line {
                // A runaway line: hand out its first part so memory stays bounded.
                lines.append(LogTailerLine(path: path, bytes: Array(line[..<limits.line])))
                line.removeFirst(limits.line)
                offset = position - Int64(line.count)
            }
        }
        if finishing, !line.isEmpty {
            lines.append(LogTailerLine(path: path, bytes: line))
            offset = position
        }
    }

    /// The index of the first `\n` in `bytes[start..<end]`. The corresponding C function is `memchr`.
    @inline(__always)
    private static func newline(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        guard let base = bytes.baseAddress, let found = memchr(base + start, 0x0A, end - start) else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(base)
    }

    private static func open(_ path: String) throws(AgentError) -> Int32 {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw AgentError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    /// The other files in `path`'s directory named `<name>.…` or `<name>-…`, compressed ones left out.
    private static func siblings(of path: String) -> [String] {
        let (directory, name) = FilePaths.split(path)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        let compressed = [".gz", ".xz", ".bz2", ".zst", ".lz4", ".z"]
        return entries.filter { entry in
            guard entry.count > name.count, entry.hasPrefix(name) else { return false }
            let separator = entry.utf8[entry.utf8.index(entry.utf8.startIndex, offsetBy: name.utf8.count)]
            guard separator == UInt8(ascii: ".") || separator == UInt8(ascii: "-") else { return false }
            return !compressed.contains { entry.lowercased().hasSuffix($0) }
        }
        .sorted().map { FilePaths.join(directory, $0) }
    }

    /// A file in `path`'s directory whose name starts with `path`'s name and whose inode is `inode`.
    private static func find(inode: UInt64, near path: String) -> String? {
        let (directory, name) = FilePaths.split(path)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for entry in entries.sorted() where entry != name && entry.hasPrefix(name) {
            let candidate = FilePaths.join(directory, entry)
            if FileStatus(path: candidate)?.inode == inode { return candidate }
        }
        return nil
    }
}

import Foundation
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
/// first (its trailing partial line is then handed out too), then the new file from offset 0. When a file shrinks
/// below the offset (truncation), reading restarts at 0. Positions `{path, inode, offset}` are written atomically
/// to `<stateDirectory>/log-tailer.json` after each poll, so a restarted tailer neither loses nor repeats lines;
/// on restart after a rotation, the old inode is looked for among the directory's other files and finished first.
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
    private let statePath: String
    private let startPosition: StartPosition
    private let chunkSize: Int
    private let maximumLineBytes: Int
    private let maximumBytesPerPoll: Int
    private var files: [String: TailedFile] = [:]
    private var polling = false

    /// Problems met by the last poll, keyed by file path (or the state file's path): a sentence each.
    public private(set) var failures: [String: String] = [:]

    /// Creates a tailer and loads the persisted positions.
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
        precondition(chunkSize > 0 && maximumLineBytes > 0 && maximumBytesPerPoll > 0, "sizes must be positive")
        self.paths = paths
        self.statePath = (stateDirectory as NSString).appendingPathComponent(Self.stateFileName)
        self.startPosition = startPosition
        self.chunkSize = chunkSize
        self.maximumLineBytes = maximumLineBytes
        self.maximumBytesPerPoll = maximumBytesPerPoll
        do {
            try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        } catch {
            throw AgentError(.io, "cannot create the log tailer's state directory \(stateDirectory)", cause: error)
        }
        for position in try Self.loadPositions(statePath) where paths.contains(position.path) {
            files[position.path] = TailedFile(path: position.path, inode: position.inode, offset: position.offset)
        }
    }

    deinit {
        for file in files.values where file.descriptor >= 0 { close(file.descriptor) }
    }

    /// The current positions, one per file that has been opened, sorted by path.
    public var positions: [LogTailerPosition] {
        files.values.map { LogTailerPosition(path: $0.path, inode: $0.inode, offset: $0.offset) }
            .sorted { $0.path < $1.path }
    }

    /// Reads every file's new complete lines and persists the new positions.
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
        let limits = ReadLimits(chunk: chunkSize, line: maximumLineBytes, poll: maximumBytesPerPoll)
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
                do throws(AgentError) {
                    try Self.savePositions(updated, to: state)
                } catch {
                    problems[state] = error.description
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

    private static func loadPositions(_ path: String) throws(AgentError) -> [LogTailerPosition] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
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
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(positions).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw AgentError(.io, "cannot write the log tailer state \(path)", cause: error)
        }
    }
}

/// Read sizes for one poll.
struct ReadLimits: Sendable {
    var chunk: Int
    var line: Int
    var poll: Int
}

/// One followed path: the open descriptor (or -1), its inode and the offset past the last complete line.
struct TailedFile: Sendable {
    var path: String
    var inode: UInt64
    /// -1 means "never seen": start according to the start position.
    var offset: Int64
    var descriptor: Int32 = -1

    init(path: String, inode: UInt64, offset: Int64) {
        self.path = path
        self.inode = inode
        self.offset = offset
    }

    /// Reads new complete lines; follows rotation and truncation.
    mutating func advance(
        limits: ReadLimits, startPosition: LogTailer.StartPosition, into lines: inout [LogTailerLine]
    ) throws(AgentError) {
        if descriptor < 0 {
            guard let current = Self.inode(ofPath: path) else { return }  // Not there yet.
            if offset < 0 {
                offset = startPosition == .end ? Self.size(ofPath: path) : 0
                inode = current
            } else if current != inode {
                // Rotated while we were not running: finish the old inode if it is still nearby.
                if let rotated = Self.find(inode: inode, near: path) {
                    var old = TailedFile(path: path, inode: inode, offset: offset)
                    old.descriptor = try Self.open(rotated)
                    defer { close(old.descriptor) }
                    try old.read(limits: limits, finishing: true, into: &lines)
                }
                inode = current
                offset = 0
            }
            descriptor = try Self.open(path)
            if let reopened = Self.inode(ofPath: path), reopened != inode {
                // Replaced between the stat and the open: start the new file from 0.
                inode = reopened
                offset = 0
            }
        }
        if Self.size(ofDescriptor: descriptor) < offset { offset = 0 }  // Truncated.
        try read(limits: limits, finishing: false, into: &lines)
        if let current = Self.inode(ofPath: path), current != inode {
            // Rotated by rename: finish the old file, then follow the new one from its start.
            try read(limits: limits, finishing: true, into: &lines)
            close(descriptor)
            descriptor = -1
            descriptor = try Self.open(path)
            inode = Self.inode(ofPath: path) ?? current
            offset = 0
            try read(limits: limits, finishing: false, into: &lines)
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
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                line.append(contentsOf: buffer[start..<index])
                lines.append(LogTailerLine(path: path, bytes: line))
                line.removeAll(keepingCapacity: true)
                start = index + 1
                offset = position - Int64(count - start)
            }
            line.append(contentsOf: buffer[start..<count])
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

    private static func open(_ path: String) throws(AgentError) -> Int32 {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw AgentError(.io, "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        return descriptor
    }

    static func inode(ofPath path: String) -> UInt64? {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.systemFileNumber] as? NSNumber)?.uint64Value
    }

    private static func size(ofPath path: String) -> Int64 {
        let attributes = try? FileManager.default.attributesOfItem(atPath: path)
        return (attributes?[.size] as? NSNumber)?.int64Value ?? 0
    }

    /// The size of the open file. The corresponding C function is `lseek`.
    private static func size(ofDescriptor descriptor: Int32) -> Int64 {
        Int64(max(0, lseek(descriptor, 0, SEEK_END)))
    }

    /// A file in `path`'s directory whose name starts with `path`'s name and whose inode is `inode`.
    private static func find(inode: UInt64, near path: String) -> String? {
        let directory = (path as NSString).deletingLastPathComponent
        let name = (path as NSString).lastPathComponent
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for entry in entries.sorted() where entry != name && entry.hasPrefix(name) {
            let candidate = (directory as NSString).appendingPathComponent(entry)
            if Self.inode(ofPath: candidate) == inode { return candidate }
        }
        return nil
    }
}

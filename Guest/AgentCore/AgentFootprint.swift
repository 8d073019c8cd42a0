#if canImport(Glibc)
    import Glibc
#endif

/// Gives the kernel back what start-up used and the idle agent no longer needs.
///
/// Start-up builds large temporary tables (the log classifier's automaton is compiled from ~5 MB of rows that are
/// dropped afterwards) and runs code that idle never runs again (argument parsing, configuration, SQLite
/// migrations, the classifier's compiler, listener set-up). glibc keeps the freed chunks resident inside its
/// arenas, and the kernel keeps every code page it faulted in (64 KiB around each address) mapped. Both count in
/// the agent's RSS until something reclaims them. `somnus-agent serve` calls ``releaseStartUpMemory()`` once, when
/// both listeners are bound (in-process servers of tests and benchmarks do not).
public enum AgentFootprint {
    /// glibc's `malloc_trim`, looked up once at run time: `<malloc.h>` is not part of Swift's `Glibc` module.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
            // RTLD_DEFAULT is the null handle on glibc.
            guard let symbol = dlsym(nil, "malloc_trim") else { return nil }
            return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
            return nil
        #endif
    }()

    /// What ``releaseStartUpMemory()`` did.
    public struct Release: Sendable, Equatable {
        /// Whether the C heap was trimmed (glibc only).
        public var heapTrimmed: Bool
        /// Bytes of the executable's code mapping whose pages were unmapped.
        public var codeBytes: Int
    }

    /// Trims the C heap and unmaps the executable's code pages; both come back on demand.
    /// - Returns: What was released.
    @discardableResult
    public static func releaseStartUpMemory() -> Release {
        Release(heapTrimmed: releaseFreeHeapPages(), codeBytes: releaseCodePages())
    }

    /// Releases the free memory of every malloc arena to the kernel.
    ///
    /// The corresponding C function is `malloc_trim`.
    /// - Returns: Whether the C library offers a trim at all (glibc does).
    static func releaseFreeHeapPages() -> Bool {
        guard let mallocTrim else { return false }
        _ = mallocTrim(0)
        return true
    }

    /// Unmaps the pages of the executable's read-only code mapping (`r-xp` in `/proc/self/maps`).
    ///
    /// That mapping is a private, never-written view of the file (the agent is a PIE without text relocations:
    /// relocations go to its writable segment, which is left alone), so `MADV_DONTNEED` only drops page-table
    /// entries: the pages stay in the page cache and the next instruction fetch maps them again with a minor
    /// fault. The corresponding C function is `madvise`.
    /// - Returns: The size of the mapping released, 0 when it was not found or the kernel refused.
    static func releaseCodePages() -> Int {
        guard let range = executableCodeRange(), let start = UnsafeMutableRawPointer(bitPattern: range.start)
        else { return 0 }
        let length = Int(range.end - range.start)
        return madvise(start, length, MADV_DONTNEED) == 0 ? length : 0
    }

    /// The address range of the executable's `r-xp` mapping.
    static func executableCodeRange() -> (start: UInt, end: UInt)? {
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &target, target.count - 1)
        guard count > 0 else { return nil }
        let executable = String(decoding: target[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        for line in SystemSampler.read("/proc/self/maps")?.split(separator: "\n") ?? [] {
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            // The path is the rest of the line after the padding that follows the inode.
            guard fields.count == 6, fields[1] == "r-xp", fields[5].drop(while: { $0 == " " }) == executable else {
                continue
            }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                end > start
            else { continue }
            return (start, end)
        }
        return nil
    }
}

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
        /// Bytes of clean read-only file mappings (the code, read-only data and unwind tables of the executable
        /// and its shared libraries) whose pages were unmapped.
        public var fileBytes: Int
    }

    /// One mapping of a file, from `/proc/self/smaps`.
    package struct Mapping: Sendable, Equatable {
        /// The first address.
        package var start: UInt
        /// The address after the last.
        package var end: UInt
        /// `r-xp`, `r--p`, `rw-p`…
        package var permissions: String
        /// The file's path.
        package var path: String
        /// KiB of its pages that are anonymous: copies made when the page was written (relocations).
        package var anonymousKiB: Int

        /// Whether every page is the file's own, never written: unmapping it loses nothing.
        package var isCleanReadOnly: Bool {
            (permissions == "r-xp" || permissions == "r--p") && anonymousKiB == 0
        }
    }

    /// Trims the C heap and unmaps the pages of clean read-only file mappings; both come back on demand.
    /// - Returns: What was released.
    @discardableResult
    public static func releaseStartUpMemory() -> Release {
        Release(heapTrimmed: releaseFreeHeapPages(), fileBytes: releaseCleanFilePages())
    }

    /// Releases the free memory of every malloc arena to the kernel.
    ///
    /// The corresponding C function is `malloc_trim`.
    /// - Returns: Whether the C library offers a trim at all (glibc does).
    package static func releaseFreeHeapPages() -> Bool {
        guard let mallocTrim else { return false }
        _ = mallocTrim(0)
        return true
    }

    /// Unmaps the pages of the read-only file mappings that were never written: the code (`r-xp`), read-only data
    /// and unwind tables (`r--p`) of the executable and of its shared libraries, except their RELRO segments,
    /// whose pages relocations copied.
    ///
    /// Such a mapping is a private view of the file, so `MADV_DONTNEED` only drops page-table entries: the pages
    /// stay in the page cache and the next access maps them again with a minor fault. A mapping holding any
    /// anonymous page is left alone: dropping that page would undo the relocations written into it. The
    /// corresponding C function is `madvise`.
    /// - Returns: The bytes released.
    package static func releaseCleanFilePages() -> Int {
        fileMappings().filter(\.isCleanReadOnly).reduce(0) { released, mapping in
            guard let start = UnsafeMutableRawPointer(bitPattern: mapping.start) else { return released }
            let length = Int(mapping.end - mapping.start)
            return madvise(start, length, MADV_DONTNEED) == 0 ? released + length : released
        }
    }

    /// The mappings of files (not the heap, stacks or the kernel's `[vdso]`), in address order.
    package static func fileMappings() -> [Mapping] {
        var mappings: [Mapping] = []
        var current: Mapping?
        for line in SystemSampler.read("/proc/self/smaps")?.split(separator: "\n") ?? [] {
            if line.hasPrefix("Anonymous:") {
                current?.anonymousKiB = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
                continue
            }
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            // A mapping's header: the range, then permissions, offset, device, inode and (after padding) the path.
            guard fields.count >= 5, fields[0].contains("-"), !fields[0].hasSuffix(":") else { continue }
            if let finished = current { mappings.append(finished) }
            current = nil
            let bounds = fields[0].split(separator: "-")
            let path = fields.count == 6 ? fields[5].drop(while: { $0 == " " }) : ""
            guard path.hasPrefix("/"), bounds.count == 2, let start = UInt(bounds[0], radix: 16),
                let end = UInt(bounds[1], radix: 16), end > start
            else { continue }
            current = Mapping(
                start: start, end: end, permissions: String(fields[1]), path: String(path), anonymousKiB: 0)
        }
        if let finished = current { mappings.append(finished) }
        return mappings
    }
}

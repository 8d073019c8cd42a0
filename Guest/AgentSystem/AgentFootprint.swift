#if canImport(Glibc)
    import Glibc
#endif

/// Gives the kernel back what start-up used and the idle agent no longer needs.
///
/// Start-up builds large temporary tables (the log classifier's automaton is compiled from ~5 MB of rows that are
/// dropped afterwards) and runs code that idle never runs again (argument parsing, configuration, SQLite
/// migrations, the classifier's compiler, listener set-up). glibc keeps the freed chunks resident inside its
/// arenas, and the kernel keeps every code page it faulted in (64 KiB around each address) mapped. Both count in
/// the agent's RSS until something reclaims them. `somnus-agent serve` calls ``releaseStartUpMemory()`` when
/// start-up has settled, and once more after its first requests, whose connection set-up and type metadata are
/// made once (in-process servers of tests and benchmarks do not).
///
/// Debian's kernels back anonymous memory with transparent huge pages by default (`always`): a 2 MiB page
/// wherever a 2 MiB-aligned block of a mapping is touched, and `khugepaged` folds any such block with a single
/// page present into one. A malloc arena holding a few hundred KiB then costs 2 MiB per block it spans, and
/// trimming it gives back nothing that khugepaged does not take again. The agent marks its own anonymous mappings
/// `MADV_NOHUGEPAGE` (``refuseHugePages()``); the programs it runs are not affected.
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

    /// glibc's `pthread_getattr_default_np` and `pthread_setattr_default_np`, looked up once at run time (GNU
    /// extensions the `Glibc` module hides).
    private static let threadDefaults:
        (
            get: @convention(c) (UnsafeMutablePointer<pthread_attr_t>) -> Int32,
            set: @convention(c) (UnsafePointer<pthread_attr_t>) -> Int32
        )? = {
            #if canImport(Glibc)
                guard let get = dlsym(nil, "pthread_getattr_default_np"),
                    let set = dlsym(nil, "pthread_setattr_default_np")
                else { return nil }
                return (
                    unsafeBitCast(get, to: (@convention(c) (UnsafeMutablePointer<pthread_attr_t>) -> Int32).self),
                    unsafeBitCast(set, to: (@convention(c) (UnsafePointer<pthread_attr_t>) -> Int32).self)
                )
            #else
                return nil
            #endif
        }()

    /// The stack of each thread the agent starts: less than 2 MiB, so that no 2 MiB-aligned block fits in one and
    /// the kernel never backs a stack's top with a huge page (as it does under `always` when an 8 MiB stack
    /// happens to end on a 2 MiB boundary). Four times the 512 KiB Swift's secondary threads get on macOS.
    public static let threadStackBytes = 2 << 20 - 64 << 10

    /// Makes ``threadStackBytes`` the stack size of the threads started from now on (the event loops, the thread
    /// pools, the job monitor); call it before they start.
    /// - Returns: Whether the default changed (glibc only).
    @discardableResult
    public static func limitThreadStacks() -> Bool {
        setThreadStackSize(threadStackBytes) != nil
    }

    /// Sets the stack size of the threads started from now on. The corresponding C function is
    /// `pthread_setattr_default_np`.
    /// - Returns: The size before, or `nil` when the default cannot be changed.
    package static func setThreadStackSize(_ bytes: Int) -> Int? {
        guard let threadDefaults else { return nil }
        var attributes = pthread_attr_t()
        guard threadDefaults.get(&attributes) == 0 else { return nil }
        defer { pthread_attr_destroy(&attributes) }
        var previous = 0
        guard pthread_attr_getstacksize(&attributes, &previous) == 0,
            pthread_attr_setstacksize(&attributes, bytes) == 0, threadDefaults.set(&attributes) == 0
        else { return nil }
        return previous
    }

    /// What ``releaseStartUpMemory()`` did.
    public struct Release: Sendable, Equatable {
        /// Whether the C heap was trimmed (glibc only).
        public var heapTrimmed: Bool
        /// Bytes of read-only file mappings (the code, read-only data and unwind tables of the executable and its
        /// shared libraries) whose pages, still the file's own, were unmapped.
        public var fileBytes: Int
    }

    /// One mapping, from `/proc/self/maps` or `/proc/self/smaps`.
    package struct Mapping: Sendable, Equatable {
        /// The first address.
        package var start: UInt
        /// The address after the last.
        package var end: UInt
        /// `r-xp`, `r--p`, `rw-p`…
        package var permissions: String
        /// The file's path; empty for anonymous memory, or the kernel's name for it (`[heap]`, `[stack]`, `[vdso]`).
        package var path: String
        /// KiB of its pages that are anonymous: copies made when the page was written (relocations); 0 when read
        /// from `/proc/self/maps`.
        package var anonymousKiB: Int

        /// Whether nothing can write to it any more: a private view of the file, readable or executable only.
        package var isReadOnly: Bool {
            permissions == "r-xp" || permissions == "r--p"
        }

        /// Whether it is this process's own anonymous memory: private, and of no file and none of the kernel's
        /// pages (`[vdso]`, `[vvar]`).
        package var isPrivateAnonymous: Bool {
            permissions.hasSuffix("p") && (path.isEmpty || path == "[heap]" || path == "[stack]")
        }
    }

    /// Marks the anonymous mappings no huge pages, unmaps the pages of read-only file mappings that are still the
    /// file's own, then trims the C heap (last, so that what reading `/proc/self/smaps` allocated goes too, and
    /// the trim splits the huge pages its free chunks lie in); all come back on demand.
    /// - Returns: What was released.
    @discardableResult
    public static func releaseStartUpMemory() -> Release {
        refuseHugePages()
        let fileBytes = releaseCleanFilePages()
        return Release(heapTrimmed: releaseFreeHeapPages(), fileBytes: fileBytes)
    }

    /// Marks every private anonymous mapping of the agent (the heap, the malloc arenas with their reserved tails,
    /// thread stacks) `MADV_NOHUGEPAGE`: the kernel backs none of their blocks with a 2 MiB page from then on,
    /// neither at a fault nor through `khugepaged`. Marking a mapping twice changes nothing. The corresponding C
    /// function is `madvise`.
    /// - Returns: The bytes of address space marked.
    @discardableResult
    public static func refuseHugePages() -> Int {
        mappings(in: "/proc/self/maps").filter(\.isPrivateAnonymous).reduce(0) { marked, mapping in
            guard let pointer = UnsafeMutableRawPointer(bitPattern: mapping.start),
                madvise(pointer, Int(mapping.end - mapping.start), MADV_NOHUGEPAGE) == 0
            else { return marked }
            return marked + Int(mapping.end - mapping.start)
        }
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

    /// Unmaps the pages of the read-only file mappings that are still the file's own: the code (`r-xp`), read-only
    /// data and unwind tables (`r--p`) of the executable and of its shared libraries, and the pages of their RELRO
    /// segments that the loader's relocations did not write.
    ///
    /// Such a mapping is a private view of the file, so `MADV_DONTNEED` only drops page-table entries: the pages
    /// stay in the page cache and the next access maps them again with a minor fault. A page the loader wrote
    /// (a relocation) is an anonymous copy, which dropping would undo: `/proc/self/pagemap` tells the two apart,
    /// and a read-only mapping gains no new copy while this runs. The corresponding C function is `madvise`.
    /// - Returns: The bytes released.
    package static func releaseCleanFilePages() -> Int {
        let pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC)
        defer { if pagemap >= 0 { close(pagemap) } }
        return fileMappings().filter(\.isReadOnly).reduce(0) { released, mapping in
            released + releaseFilePages(of: mapping, pagemap: pagemap)
        }
    }

    /// Unmaps the pages of one read-only file mapping that are still the file's own.
    /// - Parameters:
    ///   - mapping: A read-only mapping of this process.
    ///   - pagemap: `/proc/self/pagemap`, open for reading; when it is not (-1), a mapping holding anonymous pages
    ///     is left whole.
    /// - Returns: The bytes released.
    package static func releaseFilePages(of mapping: Mapping, pagemap: Int32) -> Int {
        let pageSize = UInt(sysconf(Int32(_SC_PAGESIZE)))
        guard mapping.anonymousKiB > 0 else {
            return advise(from: mapping.start, to: mapping.end) ? Int(mapping.end - mapping.start) : 0
        }
        guard pagemap >= 0 else { return 0 }
        let pages = Int((mapping.end - mapping.start) / pageSize)
        var entries = [UInt64](repeating: 0, count: pages)
        let wanted = pages * MemoryLayout<UInt64>.stride
        let read = entries.withUnsafeMutableBytes {
            pread(pagemap, $0.baseAddress, wanted, off_t(mapping.start / pageSize) * 8)
        }
        guard read == wanted else { return 0 }
        // An entry's bit 61: the page is mapped from the file (or shared), not an anonymous copy.
        let filePage: UInt64 = 1 << 61
        var released = 0
        var run: UInt?
        // A last entry that is no file page ends the last run.
        for (index, entry) in (entries + [0]).enumerated() {
            let address = mapping.start + UInt(index) * pageSize
            if entry & filePage != 0 {
                run = run ?? address
            } else if let first = run {
                if advise(from: first, to: address) { released += Int(address - first) }
                run = nil
            }
        }
        return released
    }

    /// `madvise(MADV_DONTNEED)` on a range of this process's address space.
    private static func advise(from start: UInt, to end: UInt) -> Bool {
        guard let pointer = UnsafeMutableRawPointer(bitPattern: start) else { return false }
        return madvise(pointer, Int(end - start), MADV_DONTNEED) == 0
    }

    /// The mappings of files (not the heap, stacks or the kernel's `[vdso]`), in address order, with their
    /// anonymous pages counted.
    package static func fileMappings() -> [Mapping] {
        mappings(in: "/proc/self/smaps").filter { $0.path.hasPrefix("/") }
    }

    /// The mappings listed in `file` (`/proc/self/maps`, or `/proc/self/smaps` for the anonymous page counts), in
    /// address order.
    package static func mappings(in file: String) -> [Mapping] {
        var mappings: [Mapping] = []
        var current: Mapping?
        for line in SystemSampler.read(file)?.split(separator: "\n") ?? [] {
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
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16),
                end > start
            else { continue }
            current = Mapping(
                start: start, end: end, permissions: String(fields[1]), path: String(path), anonymousKiB: 0)
        }
        if let finished = current { mappings.append(finished) }
        return mappings
    }
}

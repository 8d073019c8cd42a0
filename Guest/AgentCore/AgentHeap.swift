#if canImport(Glibc)
    import Glibc
#endif

/// Gives the C heap's free pages back to the kernel.
///
/// Start-up builds large temporary tables (the log classifier's automaton is built from ~5 MB of rows that are
/// dropped once compiled) and glibc keeps such freed chunks resident inside its arenas. One trim after the
/// listeners are bound returns those pages, so the idle agent's RSS is its live heap.
enum AgentHeap {
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

    /// Releases the free memory of every malloc arena to the kernel.
    ///
    /// The corresponding C function is `malloc_trim`.
    /// - Returns: Whether the C library offers a trim at all (glibc does).
    @discardableResult
    static func releaseFreePages() -> Bool {
        guard let mallocTrim else { return false }
        _ = mallocTrim(0)
        return true
    }
}

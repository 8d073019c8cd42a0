#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    package import Musl
#endif

/// A POSIX thread of its own, for the few pieces of blocking work that must not wait behind `NIOThreadPool` (the
/// agent's one way off the cooperative pool): freezing and thawing filesystems, which may have to run while every
/// pool thread is blocked writing to a frozen one, and the memory store's open, which holds its thread for seconds
/// at start-up. It replaces Foundation's `Thread`, which the agent does not link.
package enum DetachedThread {
    /// What the new thread runs; passed through `pthread_create`'s context pointer.
    private final class Work {
        let body: @Sendable () -> Void

        init(body: @escaping @Sendable () -> Void) {
            self.body = body
        }
    }

    /// Starts `body` on a new detached thread; `name` says what it is for in errors.
    /// - Throws: ``AgentError`` `.internal` naming the `pthread_create` error when no thread can be created.
    ///   The corresponding C function is `pthread_create`.
    package static func start(name: String, _ body: @escaping @Sendable () -> Void) throws(AgentError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, CInt(PTHREAD_CREATE_DETACHED))
        let context = Unmanaged.passRetained(Work(body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, &attributes,
            { raw in
                guard let raw else { return nil }
                let work = Unmanaged<Work>.fromOpaque(raw).takeRetainedValue()
                work.body()
                return nil
            }, context)
        guard result == 0 else {
            Unmanaged<Work>.fromOpaque(context).release()
            throw AgentError(.internal, "cannot start a thread for \(name): \(String(cString: strerror(result)))")
        }
    }

    /// Runs `body` on a new thread of its own and returns its value: for short blocking work that must not wait
    /// behind the shared thread pool (thawing filesystems while a pool thread may be blocked writing to one of
    /// them). When no thread can be created, `body` runs on the caller's thread.
    package static func run<Value: Sendable>(name: String, _ body: @escaping @Sendable () -> Value) async -> Value {
        await withCheckedContinuation { continuation in
            do {
                try start(name: name) { continuation.resume(returning: body()) }
            } catch {
                continuation.resume(returning: body())
            }
        }
    }
}

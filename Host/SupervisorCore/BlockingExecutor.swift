import Dispatch

/// Runs blocking C calls (libvirt, libssh2, SQLite) on Dispatch's threads instead of Swift's cooperative pool.
enum BlockingExecutor {
    private static let queue = DispatchQueue(label: "somnus.blocking", attributes: .concurrent)

    /// Runs `body` on a blocking-work thread and returns its result.
    static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            queue.async {
                do throws(E) {
                    continuation.resume(returning: .success(try body()))
                } catch {
                    continuation.resume(returning: .failure(error))
                }
            }
        }
        return try result.get()
    }
}

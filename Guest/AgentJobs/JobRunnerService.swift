package import AgentBasics
import Logging
package import ServiceLifecycle
import Synchronization

extension AgentError.Code {
    /// The agent is shutting down and starts no new work (HTTP 503).
    package static let shuttingDown = AgentError.Code("shutting_down")
}

/// Runs the agent's background work (exec jobs, pack installs, the deadline of a freeze) as children of one task
/// group, so that none of it outlives the agent's `ServiceGroup`.
///
/// Work outlives the request that starts it: ``start(_:stop:_:)`` hands it over and returns at once. When graceful
/// shutdown begins, the runner takes no more work (``start(_:stop:_:)`` throws `shutting_down`), calls the `stop` of
/// every piece still running (a job is cancelled as `DELETE` cancels it: SIGTERM to its process group, SIGKILL after
/// the kill grace; a freeze thaws), and returns once all of them have ended. Cancellation of ``run()`` does the same
/// and also cancels the work's tasks, whose processes then get SIGKILL at once.
package final class JobRunnerService: Service, Sendable {
    private struct Work: Sendable {
        let id: Int
        let body: @Sendable () async -> Void
    }

    private struct Registry {
        var stopping = false
        var nextID = 0
        /// The `stop` of every piece of work handed over and not yet ended.
        var stops: [Int: @Sendable () -> Void] = [:]
    }

    private let registry = Mutex(Registry())
    private let works: AsyncStream<Work>
    private let continuation: AsyncStream<Work>.Continuation

    package init() {
        (works, continuation) = AsyncStream.makeStream()
    }

    /// Whether graceful shutdown (or cancellation) has begun: no new work starts.
    package var isStopping: Bool { registry.withLock { $0.stopping } }

    /// Hands `body` to the runner, which runs it in a task of its group (work handed over before ``run()`` starts
    /// waits for it).
    /// - Parameters:
    ///   - what: What the work is, for the refusal (`exec job`, `pack install`, `freeze`).
    ///   - stop: Called once when shutdown begins while `body` runs; `body` should end soon after.
    ///   - body: The work.
    /// - Throws: ``AgentError`` `shutting_down` once shutdown has begun.
    package func start(
        _ what: String, stop: @escaping @Sendable () -> Void, _ body: @escaping @Sendable () async -> Void
    ) throws(AgentError) {
        try registry.withLock { registry throws(AgentError) in
            guard !registry.stopping else {
                throw AgentError(.shuttingDown, "the agent is shutting down: no new \(what) starts")
            }
            let id = registry.nextID
            registry.nextID += 1
            registry.stops[id] = stop
            continuation.yield(Work(id: id, body: body))
        }
    }

    /// Runs the work handed over until shutdown, then until every piece of it has ended.
    package func run() async {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await withDiscardingTaskGroup { group in
                    for await work in works {
                        group.addTask {
                            await work.body()
                            self.registry.withLock { _ = $0.stops.removeValue(forKey: work.id) }
                        }
                    }
                }
            } onGracefulShutdown: {
                self.stopAll()
            }
        } onCancel: {
            self.stopAll()
        }
    }

    /// Refuses new work, ends the stream once the work already handed over is taken, and stops what runs.
    private func stopAll() {
        let stops = registry.withLock { registry in
            registry.stopping = true
            continuation.finish()
            return Array(registry.stops.values)
        }
        for stop in stops { stop() }
    }
}

extension JobRunnerService {
    /// Runs `body` with a runner running in a service group of its own, as the agent runs it, then shuts the group
    /// down gracefully (work still running is stopped as at the agent's shutdown) and waits for it to end: for code
    /// that builds job tables for one scope, such as tests.
    /// - Parameter body: Gets the running runner and its group (to start the group's graceful shutdown early).
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    package static func withRunning<Value>(
        _ body: (JobRunnerService, ServiceGroup) async throws -> Value
    ) async throws -> Value {
        let runner = JobRunnerService()
        let group = ServiceGroup(
            configuration: .init(
                services: [runner],
                logger: Logger(label: "somnus-job-runner", factory: { _ in SwiftLogNoOpLogHandler() })))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let result: Result<Value, any Error>
            do {
                result = .success(try await body(runner, group))
            } catch {
                result = .failure(error)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try result.get()
        }
    }
}

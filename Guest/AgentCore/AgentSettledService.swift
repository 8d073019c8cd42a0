import ServiceLifecycle

/// Calls `onSettled` once `isSettled` holds (checked every 100 ms), then `onFirstAnswer` once `firstAnswer` returns,
/// then waits for shutdown: a service that returned would stop the group.
struct AgentSettledService: Service {
    let isSettled: @Sendable () -> Bool
    let onSettled: @Sendable () async -> Void
    let firstAnswer: @Sendable () async throws -> Void
    let onFirstAnswer: @Sendable () async -> Void

    func run() async throws {
        while !isSettled() {
            guard (try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(100)) }) != nil
            else { return }
        }
        await onSettled()
        guard (try? await cancelWhenGracefulShutdown { try await firstAnswer() }) != nil else { return }
        await onFirstAnswer()
        try? await gracefulShutdown()
    }
}

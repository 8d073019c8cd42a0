import ServiceLifecycle

/// Calls `onSettled` once `isSettled` holds (checked every 100 ms), then waits for shutdown: a service that
/// returned would stop the group.
struct AgentSettledService: Service {
    let isSettled: @Sendable () -> Bool
    let onSettled: @Sendable () async -> Void

    func run() async throws {
        while !isSettled() {
            guard (try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(100)) }) != nil
            else { return }
        }
        await onSettled()
        try? await gracefulShutdown()
    }
}

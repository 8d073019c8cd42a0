public import Logging
public import ServiceLifecycle

/// Suspends every running VM when the daemon shuts down gracefully (`somnus daemon --suspend-on-exit`), so
/// stopping the host's supervisor parks the VMs' memory on disk instead of leaving them to be killed; each
/// resumes at its next `somnus vm start` or `somnus up`, with the host's clock pushed.
public struct ShutdownSuspender: Service {
    let manager: VMManager
    let logger: Logger

    /// A suspender for `manager`'s VMs.
    public init(manager: VMManager, logger: Logger) {
        self.manager = manager
        self.logger = logger
    }

    /// Waits for graceful shutdown, then suspends the running VMs one by one.
    public func run() async throws {
        try? await gracefulShutdown()
        _ = await suspendRunning()
    }

    /// Suspends every running user VM; one that fails is logged and the rest still go.
    /// - Returns: The VMs suspended.
    public func suspendRunning() async -> [String] {
        var suspended: [String] = []
        for record in (try? manager.inventory.allVMs()) ?? [] {
            guard (try? await manager.isRunning(name: record.name)) == true else { continue }
            do {
                try await manager.suspend(name: record.name)
                suspended.append(record.name)
            } catch {
                logger.error(
                    "suspend at shutdown failed", metadata: ["vm.name": "\(record.name)", "error": "\(error)"])
            }
        }
        logger.info("vms suspended at shutdown", metadata: ["vm.count": "\(suspended.count)"])
        return suspended
    }
}

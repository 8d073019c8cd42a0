public import FoundationEssentials
public import Logging
public import ServiceLifecycle

/// What one retention pass removed.
public struct MemoryRetentionReport: Sendable, Equatable {
    /// Memories removed because their importance's retention time (or their `expires_at`) had passed.
    public var expired: Int
    /// Memories evicted because their namespace was over its cap.
    public var evicted: Int

    /// Creates a report.
    /// - Parameters:
    ///   - expired: Memories removed for age or expiry.
    ///   - evicted: Memories removed for the namespace cap.
    public init(expired: Int, evicted: Int) {
        self.expired = expired
        self.evicted = evicted
    }
}

/// Runs ``MemoryStore/enforceRetention(now:)`` once at start and then every `interval` until shutdown; after a
/// pass it re-embeds the memories still waiting for the current embedder (``MemoryStore/reembedNextBatch(size:)``,
/// four at a time, yielding between batches), so a change of embedder never holds the store's opening.
///
/// A pass or a batch waits while `holdsWrites` says the filesystems are frozen (checked every 100 ms), so its
/// writes never block on a frozen filesystem.
public struct MemoryRetentionService: Service {
    private let store: MemoryStore
    private let interval: Duration
    private let logger: Logger
    private let holdsWrites: @Sendable () -> Bool

    /// Creates the service.
    /// - Parameters:
    ///   - store: The store to prune.
    ///   - interval: Time between passes.
    ///   - logger: Where pass results and failures go.
    ///   - holdsWrites: Whether writes must wait now (the agent's freeze state).
    public init(
        store: MemoryStore, interval: Duration = .seconds(3600), logger: Logger,
        holdsWrites: @escaping @Sendable () -> Bool = { false }
    ) {
        self.store = store
        self.interval = interval
        self.logger = logger
        self.holdsWrites = holdsWrites
    }

    /// Runs passes until the task is cancelled or graceful shutdown begins.
    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            guard await waitForWrites() else { return }
            do {
                let report = try store.enforceRetention(now: Date())
                if report.expired + report.evicted > 0 {
                    logger.info(
                        "memory retention pass removed memories",
                        metadata: ["memory.expired": "\(report.expired)", "memory.evicted": "\(report.evicted)"]
                    )
                }
            } catch {
                // The pass is retried at the next interval; the service itself keeps running.
                logger.error("memory retention pass failed", metadata: ["memory.error": "\(error)"])
            }
            guard await reembedWaitingMemories() else { return }
            do {
                try await cancelWhenGracefulShutdown {
                    try await Task.sleep(for: interval)
                }
            } catch {
                return
            }
        }
    }

    /// Waits while writes are held; `false` when shutdown began meanwhile.
    private func waitForWrites() async -> Bool {
        while holdsWrites() {
            guard (try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(100)) }) != nil
            else { return false }
        }
        return true
    }

    /// Re-embeds every memory waiting for the current embedder; `false` when shutdown began meanwhile. A failed
    /// batch is retried after the next retention pass.
    private func reembedWaitingMemories() async -> Bool {
        while store.isReembedding {
            guard !Task.isCancelled && !Task.isShuttingDownGracefully, await waitForWrites() else { return false }
            do {
                try store.reembedNextBatch(size: 4)
            } catch {
                logger.error("memory re-embedding failed", metadata: ["memory.error": "\(error)"])
                return true
            }
            await Task.yield()
        }
        return true
    }
}

import AgentBasics
import FoundationEssentials
import Logging
import Memory
import NIOPosix
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The agent's memory store: opening in the background, open, or why it could not be opened.
///
/// The agent binds its listeners (and tells systemd READY=1) before the store is opened, so a slow open (a big
/// embedding model, a slow guest) never delays health. While the store opens every memory route answers 503
/// `memory_opening`; a store that fails to open never stops the agent: health and the other routes keep serving,
/// and every memory route answers 503 `memory_degraded` with the reason.
package final class AgentMemory: Sendable {
    /// Where the store is in its life.
    enum Phase: Sendable {
        /// ``startOpening(configuration:logger:)`` has not finished yet.
        case opening
        /// The store is open.
        case ready(MemoryStore)
        /// The store could not be opened; the sentence says why.
        case unavailable(String)
    }

    /// The directory under `data_dir` holding a Model2Vec-style embedding model, when one was installed.
    package static let modelDirectoryName = "memory-model"
    /// The message of the 503 `memory_opening` answer.
    static let openingMessage = "the memory store is still opening (loading its model and vectors); retry shortly"

    private let state: Mutex<Phase>

    /// A holder in `phase` (tests and agents without memory start `.unavailable`).
    init(_ phase: Phase = .opening) {
        self.state = Mutex(phase)
    }

    /// The current phase.
    var phase: Phase { state.withLock { $0 } }

    /// The open store, or `nil`.
    var store: MemoryStore? {
        if case .ready(let store) = phase { return store }
        return nil
    }

    /// Whether the store is still opening.
    var isOpening: Bool {
        if case .opening = phase { return true }
        return false
    }

    /// Why the store is unavailable, or `nil` when it is open or opening.
    var reason: String? {
        if case .unavailable(let reason) = phase { return reason }
        return nil
    }

    /// Moves out of `.opening`; later calls are ignored.
    func settle(_ phase: Phase) {
        state.withLock { current in
            if case .opening = current { current = phase }
        }
    }

    /// Returns once the store is open or known to be unavailable (polls; cancellable).
    func waitUntilSettled() async throws {
        while isOpening {
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Opens `<data_dir>/memory.sqlite` on a thread of its own (never the event loop or the cooperative pool) and
    /// settles the phase; a failure is logged and kept as the reason, never thrown.
    /// - Parameter beforeOpen: Runs on the opening thread first (tests use it to hold the store in `.opening`).
    func startOpening(
        configuration: AgentConfiguration, logger: Logger, beforeOpen: (@Sendable () -> Void)? = nil
    ) {
        let body: @Sendable () -> Void = { [self] in
            beforeOpen?()
            settle(Self.open(configuration: configuration, logger: logger))
        }
        do {
            try DetachedThread.start(name: "the memory store's open", body)
        } catch {
            logger.error("Cannot start the memory open thread", metadata: ["memory.error": "\(error)"])
            settle(.unavailable("the memory store is unavailable: \(error.message)"))
        }
    }

    /// Opens the store; blocking.
    private static func open(configuration: AgentConfiguration, logger: Logger) -> Phase {
        let modelDirectory = configuration.dataDirectory + "/" + modelDirectoryName
        var isDirectory = false
        let hasModel =
            FileManager.default.fileExists(atPath: modelDirectory, isDirectory: &isDirectory) && isDirectory
        let started = ContinuousClock.now
        do {
            let store = try MemoryStore(
                dataDirectory: configuration.dataDirectory, modelDirectory: hasModel ? modelDirectory : nil,
                logger: logger)
            logger.info(
                "Memory store opened",
                metadata: [
                    "memory.directory": "\(configuration.dataDirectory)", "memory.embedder": "\(store.embedderName)",
                    "memory.open.duration": "\(ContinuousClock.now - started)",
                ])
            return .ready(store)
        } catch {
            logger.error(
                "Memory store unavailable, memory routes answer 503",
                metadata: ["memory.directory": "\(configuration.dataDirectory)", "memory.error": "\(error)"])
            return .unavailable("the memory store is unavailable: \(error.message)")
        }
    }

    /// The retention service: it waits for the store to open, then runs passes (nothing when it is unavailable),
    /// each one only while `holdsWrites` is false.
    func services(logger: Logger, holdsWrites: @escaping @Sendable () -> Bool = { false }) -> [any Service] {
        [AgentMemoryRetentionService(memory: self, logger: logger, holdsWrites: holdsWrites)]
    }
}

/// Starts ``MemoryRetentionService`` once the agent's store has opened.
struct AgentMemoryRetentionService: Service {
    let memory: AgentMemory
    let logger: Logger
    let holdsWrites: @Sendable () -> Bool

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await memory.waitUntilSettled() }
        } catch {
            return
        }
        guard let store = memory.store else {
            // A service that returns early would stop the whole group: wait for shutdown like the others.
            try? await gracefulShutdown()
            return
        }
        try await MemoryRetentionService(store: store, logger: logger, holdsWrites: holdsWrites).run()
    }
}

extension AgentMemory {
    /// Runs `work` with the open store on NIO's thread pool (store calls block on SQLite).
    /// - Throws: ``AgentError`` `memory_opening` while the store opens, `memory_degraded` when it is unavailable or
    ///   the agent shuts down; the ``MemoryError`` `work` throws.
    func withStore<Value: Sendable>(
        _ work: @escaping @Sendable (MemoryStore) throws(MemoryError) -> Value
    ) async throws -> Value {
        let store: MemoryStore
        switch phase {
        case .ready(let open): store = open
        case .opening: throw AgentError(.memoryOpening, Self.openingMessage)
        case .unavailable(let reason): throw AgentError(.memoryDegraded, reason)
        }
        let result: Result<Value, MemoryError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                Result { () throws(MemoryError) -> Value in try work(store) }
            }
        } catch {
            throw AgentError(.memoryDegraded, "the agent is shutting down")
        }
        return try result.get()
    }
}

extension AgentError.Code {
    /// A memory request's field is missing, empty or malformed (HTTP 400).
    static let invalidInput = AgentError.Code("invalid_input")
    /// A memory's content is larger than 64 KiB (HTTP 413).
    static let tooLarge = AgentError.Code("too_large")
    /// The memory store is unavailable: a foreign or corrupt file, or the wrong key (HTTP 503).
    static let memoryDegraded = AgentError.Code("memory_degraded")
    /// The memory store is still opening in the background; retry shortly (HTTP 503).
    static let memoryOpening = AgentError.Code("memory_opening")
    /// The memory store failed on disk (HTTP 500).
    static let storage = AgentError.Code("storage_error")
}

import AgentAPI
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import Memory
import NIOCore
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
final class AgentMemory: Sendable {
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
    static let modelDirectoryName = "memory-model"
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

/// The memory routes: `POST /v1/memories`, `GET|PATCH|DELETE /v1/memories/{id}`, `POST /v1/memories/search`,
/// `GET /v1/memories/stats`, `GET /v1/memories/export`, `POST /v1/memories/import`, `POST /v1/memories/turns`
/// and `POST /v1/memories/rotate-key`.
///
/// Store calls block on SQLite, so they run on NIO's thread pool. ``MemoryError`` codes map to
/// `invalid_input` 400, `too_large` 413, `not_found` 404, `memory_degraded` 503 (also when the store could not
/// be opened), `memory_opening` 503 (while it opens in the background) and `storage_error` 500.
struct MemoryController {
    /// The collection's path.
    static let base = "/v1/memories"
    /// The most bytes `GET /v1/memories/export` answers with (64 MiB); a larger export is refused with 413.
    static let maxExportBytes = 64 << 20
    /// The namespace used when a route's `namespace` query parameter is absent.
    static let defaultNamespace = "default"

    let state: AgentState

    func addRoutes(to router: Router<AgentRequestContext>) {
        let memory = state.memory
        let base = Self.base
        router.post(RouterPath(base)) { request, _ in
            try await Self.guarded {
                let body = try await request.decodeJSON(MemoryCreateRequest.self)
                return await Self.respond(memory) { store throws(MemoryError) in
                    let created = try store.add(body)
                    return Self.json(created.outcome == .created ? .created : .ok, created)
                }
            }
        }
        router.post(RouterPath("\(base)/search")) { request, _ in
            try await Self.guarded {
                let body = try await request.decodeJSON(MemorySearchRequest.self)
                return await Self.respond(memory) { store throws(MemoryError) in Self.json(.ok, try store.search(body))
                }
            }
        }
        router.get(RouterPath("\(base)/stats")) { request, _ in
            try await Self.guarded {
                let namespace = try Self.namespace(request, required: false)
                return await Self.respond(memory) { store throws(MemoryError) in
                    Self.json(.ok, try store.stats(namespace: namespace))
                }
            }
        }
        router.get(RouterPath("\(base)/export")) { request, _ in
            try await Self.guarded {
                let namespace = try Self.namespace(request, required: false)
                return await Self.respond(memory) { store throws(MemoryError) in
                    try Self.jsonLines(store.export(namespace: namespace))
                }
            }
        }
        router.post(RouterPath("\(base)/import")) { request, _ in
            try await Self.guarded {
                let records = try await Self.decodeJSONLines(request)
                return await Self.respond(memory) { store throws(MemoryError) in
                    Self.json(.ok, try store.importRecords(records))
                }
            }
        }
        router.post(RouterPath("\(base)/turns")) { request, _ in
            try await Self.guarded {
                let body = try await request.decodeJSON(MemoryTurnRequest.self)
                return await Self.respond(memory) { store throws(MemoryError) in
                    Self.json(.created, try store.rememberTurn(body))
                }
            }
        }
        router.post(RouterPath("\(base)/rotate-key")) { _, _ in
            try await Self.guarded {
                await Self.respond(memory) { store throws(MemoryError) in Self.json(.ok, try store.rotateKey()) }
            }
        }
        router.get(RouterPath("\(base)/:id")) { request, context in
            try await Self.guarded {
                let id = context.parameters.get("id") ?? ""
                let namespace = try Self.namespace(request, required: true) ?? Self.defaultNamespace
                return await Self.respond(memory) { store throws(MemoryError) in
                    Self.json(.ok, try store.get(id: id, namespace: namespace))
                }
            }
        }
        router.patch(RouterPath("\(base)/:id")) { request, context in
            try await Self.guarded {
                let id = context.parameters.get("id") ?? ""
                let namespace = try Self.namespace(request, required: true) ?? Self.defaultNamespace
                let patch = try await request.decodeJSON(MemoryUpdateRequest.self)
                return await Self.respond(memory) { store throws(MemoryError) in
                    Self.json(.ok, try store.update(id: id, namespace: namespace, patch))
                }
            }
        }
        router.delete(RouterPath("\(base)/:id")) { request, context in
            try await Self.guarded {
                let id = context.parameters.get("id") ?? ""
                let namespace = try Self.namespace(request, required: true) ?? Self.defaultNamespace
                return await Self.respond(memory) { store throws(MemoryError) in
                    try store.delete(id: id, namespace: namespace)
                    return Response(status: .noContent)
                }
            }
        }
    }

    /// The `namespace` query parameter: validated when present; `default` when absent and `required`.
    /// - Throws: ``MemoryError`` `invalidInput` (400) for a bad name.
    static func namespace(_ request: Request, required: Bool) throws(MemoryError) -> String? {
        guard let value = request.uri.queryParameters["namespace"].map(String.init) else {
            return required ? defaultNamespace : nil
        }
        guard MemoryRecord.isValidNamespace(value) else {
            throw MemoryError(
                code: .invalidInput, message: "namespace: '\(value)' must be 1–64 characters of A-Z a-z 0-9 . _ : -")
        }
        return value
    }

    /// Runs a handler, answering a ``MemoryError`` it throws with its JSON error.
    static func guarded(_ handler: () async throws -> Response) async throws -> Response {
        do {
            return try await handler()
        } catch let failure as MemoryError {
            return response(for: failure)
        }
    }

    /// Runs `work` with the store on the thread pool and turns a ``MemoryError`` into its JSON error answer.
    static func respond(
        _ memory: AgentMemory,
        _ work: @escaping @Sendable (MemoryStore) throws(MemoryError) -> Response
    ) async -> Response {
        let store: MemoryStore
        switch memory.phase {
        case .ready(let open): store = open
        case .opening: return error(.serviceUnavailable, .memoryOpening, AgentMemory.openingMessage)
        case .unavailable(let reason): return error(.serviceUnavailable, .memoryDegraded, reason)
        }
        let result: Result<Response, MemoryError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive {
                Result { () throws(MemoryError) -> Response in try work(store) }
            }
        } catch {
            return Self.error(.serviceUnavailable, .memoryDegraded, "the agent is shutting down")
        }
        switch result {
        case .success(let response): return response
        case .failure(let failure): return response(for: failure)
        }
    }

    /// The JSON error answer of a store failure.
    static func response(for failure: MemoryError) -> Response {
        switch failure.code {
        case .invalidInput: error(.badRequest, .invalidInput, failure.message)
        case .tooLarge: error(.contentTooLarge, .tooLarge, failure.message)
        case .notFound: error(.notFound, .notFound, failure.message)
        case .degraded, .wrongKey: error(.serviceUnavailable, .memoryDegraded, failure.message)
        case .storage: error(.internalServerError, .storage, failure.message)
        }
    }

    static func error(_ status: HTTPResponse.Status, _ code: AgentError.Code, _ message: String) -> Response {
        APIErrorMiddleware<AgentRequestContext>.json(
            status: status, body: APIErrorBody(code: code.rawValue, message: message))
    }

    static func json(_ status: HTTPResponse.Status, _ body: some Encodable) -> Response {
        APIErrorMiddleware<AgentRequestContext>.json(status: status, body: body)
    }

    /// One record per line, each a JSON object with sorted keys.
    static func jsonLines(_ records: [MemoryRecord], maxBytes: Int = maxExportBytes) throws(MemoryError) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var buffer = ByteBuffer()
        for record in records {
            do {
                buffer.writeBytes(try encoder.encode(record))
            } catch {
                throw MemoryError(code: .storage, message: "cannot encode memory \(record.id): \(error)")
            }
            buffer.writeInteger(UInt8(ascii: "\n"))
            guard buffer.readableBytes <= maxBytes else {
                throw MemoryError(
                    code: .tooLarge,
                    message: "the export of \(records.count) memories is larger than \(maxBytes) bytes; "
                        + "export one namespace at a time (?namespace=)")
            }
        }
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(byteBuffer: buffer))
    }

    /// Reads a JSON Lines body (at most 1 MiB): one ``MemoryRecord`` per non-empty line.
    /// - Throws: ``AgentError`` `payload_too_large`, or ``MemoryError`` `invalidInput` naming the first bad line.
    static func decodeJSONLines(_ request: Request) async throws -> [MemoryRecord] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: AgentRequestContext.maxBodySize)
        } catch {
            throw AgentError(
                .payloadTooLarge, "the request body is larger than \(AgentRequestContext.maxBodySize) bytes")
        }
        let decoder = JSONDecoder()
        var records: [MemoryRecord] = []
        let lines = buffer.readableBytesView.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            do {
                records.append(try decoder.decode(MemoryRecord.self, from: Data(line)))
            } catch {
                throw MemoryError(code: .invalidInput, message: "line \(index + 1): is not a memory record (\(error))")
            }
        }
        return records
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

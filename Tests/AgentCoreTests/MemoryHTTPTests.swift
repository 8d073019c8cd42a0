import AgentAPI
import AgentBasics
import AgentSystem
import Curl
import Foundation
import HTTPTypes
import Logging
import Synchronization
import Testing

@testable import AgentCore

/// The memory routes of the real agent, called with the host's curl client over TCP (with the token) and the
/// unix socket.
@Suite("Memory HTTP routes", .timeLimit(.minutes(3)))
struct MemoryHTTPTests {
    @Test("Add, get, patch, search, stats and delete a memory")
    func lifecycle() async throws {
        try await AgentHarness.with { agent in
            let created = try await agent.addMemory(
                MemoryCreateRequest(
                    namespace: "project:alpha", kind: .userDirective, content: "Always indent Swift with four spaces",
                    tags: ["style"], metadata: ["source": "test"], importance: .high))
            #expect(created.status == .created)
            let memory = try created.decode(MemoryCreateResponse.self)
            #expect(memory.outcome == .created)
            #expect(memory.memory.namespace == "project:alpha")
            #expect(memory.memory.kind == .userDirective)
            #expect(memory.memory.tags == ["style"])
            let id = memory.memory.id

            let again = try await agent.addMemory(
                MemoryCreateRequest(
                    namespace: "project:alpha", kind: .userDirective, content: "Always indent Swift with four spaces"))
            #expect(again.status == .ok)
            #expect(try again.decode(MemoryCreateResponse.self).outcome == .deduplicated)

            let fetched = try await agent.get(
                "\(MemoryHandler.base)/\(id)?namespace=project:alpha", as: MemoryRecord.self)
            #expect(fetched.content == "Always indent Swift with four spaces")
            #expect(fetched.metadata == ["source": "test"])

            let patch = try JSONEncoder().encode(MemoryUpdateRequest(tags: ["style", "swift"], importance: .critical))
            let patched = try await agent.request(
                .patch, "\(MemoryHandler.base)/\(id)?namespace=project:alpha", body: patch)
            #expect(patched.status == .ok)
            let record = try patched.decode(MemoryRecord.self)
            #expect(record.tags == ["style", "swift"])
            #expect(record.importance == .critical)

            let search = try JSONEncoder().encode(
                MemorySearchRequest(namespace: "project:alpha", query: "how should Swift be indented"))
            let found = try await agent.request(.post, "\(MemoryHandler.base)/search", body: search)
            #expect(found.status == .ok)
            let hits = try found.decode(MemorySearchResponse.self)
            #expect(hits.hits.first?.memory.id == id)
            #expect(!hits.embedder.isEmpty)

            let stats = try await agent.get("\(MemoryHandler.base)/stats", as: MemoryStatsResponse.self)
            #expect(stats.total == 1)
            #expect(stats.namespaces == ["project:alpha": 1])

            let status = try await agent.get(AgentRoute.status, as: StatusResponse.self)
            #expect(status.features.contains("memory"))

            let deleted = try await agent.request(.delete, "\(MemoryHandler.base)/\(id)?namespace=project:alpha")
            #expect(deleted.status == .noContent)
            let gone = try await agent.request(.get, "\(MemoryHandler.base)/\(id)?namespace=project:alpha")
            #expect(gone.status == .notFound)
            #expect(try gone.error().code == "not_found")
        }
    }

    @Test("The unix socket serves the memory routes without a token; a wrong token over TCP is 401")
    func listeners() async throws {
        try await AgentHarness.with { agent in
            let body = try JSONEncoder().encode(MemoryCreateRequest(namespace: "default", content: "socket memory"))
            let created = try await agent.unixRequest(MemoryHandler.base, method: .post, body: body)
            #expect(created.status == .created)
            let wrong = try await agent.request(.get, "\(MemoryHandler.base)/stats", token: "wrong-token")
            #expect(wrong.status == .unauthorized)
            #expect(try wrong.error().code == "unauthorized")
            #expect(try wrong.error().message == "wrong bearer token")
        }
    }

    @Test("Bad input: empty content 400, too large 413, unknown id 404, bad namespace 400, malformed JSON 400")
    func badInput() async throws {
        try await AgentHarness.with { agent in
            let empty = try await agent.addMemory(MemoryCreateRequest(namespace: "default", content: ""))
            #expect(empty.status == .badRequest)
            #expect(try empty.error().code == "invalid_input")
            #expect(try empty.error().message.contains("content"))

            let large = try await agent.addMemory(
                MemoryCreateRequest(namespace: "default", content: String(repeating: "x", count: 65_537)))
            #expect(large.status == .contentTooLarge)
            #expect(try large.error().code == "too_large")

            let unknown = try await agent.request(.get, "\(MemoryHandler.base)/no-such-id?namespace=default")
            #expect(unknown.status == .notFound)
            #expect(try unknown.error().code == "not_found")
            #expect(try unknown.error().message.contains("no-such-id"))

            let badNamespace = try await agent.addMemory(MemoryCreateRequest(namespace: "bad name!", content: "x"))
            #expect(badNamespace.status == .badRequest)
            #expect(try badNamespace.error().code == "invalid_input")
            #expect(try badNamespace.error().message.contains("namespace"))

            let badQuery = try await agent.request(.get, "\(MemoryHandler.base)/stats?namespace=a%20b")
            #expect(badQuery.status == .badRequest)
            #expect(try badQuery.error().message == "namespace: 'a b' must be 1–64 characters of A-Z a-z 0-9 . _ : -")

            let malformed = try await agent.request(.post, MemoryHandler.base, body: Data("{not json".utf8))
            #expect(malformed.status == .badRequest)
            #expect(try malformed.error().message == "the request body is not valid JSON")

            let missing = try await agent.request(.post, MemoryHandler.base, body: Data(#"{"namespace":"a"}"#.utf8))
            #expect(missing.status == .badRequest)
            #expect(try missing.error().message == "content: is required")

            let badKind = try await agent.request(
                .post, MemoryHandler.base, body: Data(#"{"namespace":"a","content":"x","kind":"poem"}"#.utf8))
            #expect(badKind.status == .badRequest)

            let badImport = try await agent.request(
                .post, "\(MemoryHandler.base)/import", body: Data("{\"id\":1}\n".utf8))
            #expect(badImport.status == .badRequest)
            #expect(try badImport.error().code == "invalid_input")
            #expect(try badImport.error().message.hasPrefix("line 1: is not a memory record"))
        }
    }

    @Test("Export then import into a fresh agent restores every memory")
    func exportImport() async throws {
        let exported = try await AgentHarness.returning { agent -> Data in
            for (index, text) in ["The user's name is Ada", "Deploys run on Fridays", "Port 8080 is the API"]
                .enumerated()
            {
                let reply = try await agent.addMemory(
                    MemoryCreateRequest(namespace: index == 2 ? "ops" : "default", content: text))
                #expect(reply.status == .created)
            }
            let all = try await agent.request(.get, "\(MemoryHandler.base)/export")
            #expect(all.status == .ok)
            #expect(String(decoding: all.body, as: UTF8.self).split(separator: "\n").count == 3)
            let ops = try await agent.request(.get, "\(MemoryHandler.base)/export?namespace=ops")
            #expect(String(decoding: ops.body, as: UTF8.self).split(separator: "\n").count == 1)
            return all.body
        }
        try await AgentHarness.with { agent in
            let imported = try await agent.request(.post, "\(MemoryHandler.base)/import", body: exported)
            #expect(imported.status == .ok)
            #expect(try imported.decode(MemoryImportResponse.self) == MemoryImportResponse(imported: 3, skipped: 0))
            let again = try await agent.request(.post, "\(MemoryHandler.base)/import", body: exported)
            #expect(try again.decode(MemoryImportResponse.self) == MemoryImportResponse(imported: 0, skipped: 3))
            let roundTrip = try await agent.request(.get, "\(MemoryHandler.base)/export")
            let before = try Self.records(exported).map(\.content).sorted()
            let after = try Self.records(roundTrip.body).map(\.content).sorted()
            #expect(before == after)
        }
    }

    @Test("Remember a turn extracts facts; rotate-key keeps every memory readable")
    func turnsAndRotation() async throws {
        try await AgentHarness.with { agent in
            let turn = try JSONEncoder().encode(
                MemoryTurnRequest(
                    namespace: "chat", user: "My name is Grace and I work at Acme.", assistant: "Nice to meet you!"))
            let reply = try await agent.request(.post, "\(MemoryHandler.base)/turns", body: turn)
            #expect(reply.status == .created)
            let stored = try reply.decode(MemoryTurnResponse.self)
            #expect(stored.turn.kind == .conversation)
            #expect(stored.facts.allSatisfy { $0.kind == .coreFact })
            #expect(!stored.facts.isEmpty)

            let rotated = try await agent.request(.post, "\(MemoryHandler.base)/rotate-key")
            #expect(rotated.status == .ok)
            #expect(try rotated.decode(MemoryRotateKeyResponse.self).reencrypted == 1 + stored.facts.count)
            let fetched = try await agent.get(
                "\(MemoryHandler.base)/\(stored.turn.id)?namespace=chat", as: MemoryRecord.self)
            #expect(fetched.content.contains("Grace"))
        }
    }

    @Test("A foreign file at memory.sqlite: memory routes 503, health 200, the file unchanged")
    func degraded() async throws {
        let foreign = Data("this is not a database, it belongs to someone else\n".utf8)
        try await AgentHarness.withData(seed: { data in
            try foreign.write(to: URL(fileURLWithPath: data + "/memory.sqlite"))
        }) { agent in
            let live = try await agent.request(.get, AgentRoute.healthLive)
            #expect(live.status == .ok)
            let ready = try await Self.waitReady(agent)
            #expect(ready == .ok)
            let add = try await agent.addMemory(MemoryCreateRequest(namespace: "default", content: "x"))
            #expect(add.status == .serviceUnavailable)
            #expect(try add.error().code == "memory_degraded")
            #expect(try add.error().message.contains("memory.sqlite"))
            let stats = try await agent.unixRequest("\(MemoryHandler.base)/stats")
            #expect(stats.status == .serviceUnavailable)
            let status = try await agent.get(AgentRoute.status, as: StatusResponse.self)
            #expect(!status.features.contains("memory"))
            let after = try Data(contentsOf: agent.directory.appendingPathComponent("data/memory.sqlite"))
            #expect(after == foreign)
        }
    }

    @Test("A slow memory open: health and 503 memory_opening first, then the memories are served; start-up settles")
    func slowOpen() async throws {
        let gate = MemoryOpenGate()
        defer { gate.release() }
        let settled = ResultBox<ContinuousClock.Instant>()
        try await AgentHarness.withData(
            seed: { _ in }, memoryWillOpen: { gate.wait() }, waitForMemory: false,
            onSettled: { settled.set(.now) }
        ) { agent in
            let live = try await agent.request(.get, AgentRoute.healthLive)
            #expect(live.status == .ok)
            #expect(try await Self.waitReady(agent) == .ok)
            let add = try await agent.addMemory(MemoryCreateRequest(namespace: "default", content: "slow open fact"))
            #expect(add.status == .serviceUnavailable)
            #expect(try add.error().code == "memory_opening")
            #expect(try add.error().message.contains("still opening"))
            let stats = try await agent.unixRequest("\(MemoryHandler.base)/stats")
            #expect(stats.status == .serviceUnavailable)
            #expect(try stats.error().code == "memory_opening")
            let opening = try await agent.get(AgentRoute.status, as: StatusResponse.self)
            #expect(opening.features.contains("memory_opening"))
            #expect(!opening.features.contains("memory"))
            // Ready, but start-up is not over while the store opens.
            try await Task.sleep(for: .milliseconds(300))
            #expect(settled.get() == nil)

            gate.release()
            try await agent.waitForMemory()
            let opened = ContinuousClock.now
            while settled.get() == nil && ContinuousClock.now - opened < .seconds(10) {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(try #require(settled.get()) - opened < .seconds(10))
            let added = try await agent.addMemory(
                MemoryCreateRequest(namespace: "default", content: "slow open fact"))
            #expect(added.status == .created)
            let open = try await agent.get(AgentRoute.status, as: StatusResponse.self)
            #expect(open.features.contains("memory"))
            #expect(!open.features.contains("memory_opening"))
        }
    }

    static func records(_ data: Data) throws -> [MemoryRecord] {
        try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(MemoryRecord.self, from: $0) }
    }

    /// Polls `/v1/health/ready` until 200 (the first monitor tick) or 60 seconds.
    @Test("Once start-up has settled, the first answers are followed by onFirstAnswer once, 2 s after the last of them")
    func firstAnswerAfterQuiet() async throws {
        let settled = ResultBox<ContinuousClock.Instant>()
        let firstAnswers = Mutex<[ContinuousClock.Instant]>([])
        // No request before start-up has settled: the first answers are the ones below.
        try await AgentHarness.withData(
            seed: { _ in }, waitForMemory: false, onSettled: { settled.set(.now) },
            onFirstAnswer: { firstAnswers.withLock { $0.append(.now) } }
        ) { agent in
            let deadline = ContinuousClock.now + .seconds(30)
            while settled.get() == nil && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            try #require(settled.get() != nil)
            // Requests 0.5 s apart: the agent is never quiet for 2 s, unless the machine stalls this client for
            // longer (a loaded CI host), which the check below allows for.
            var sent: [ContinuousClock.Instant] = []
            var received: [ContinuousClock.Instant] = []
            for _ in 0..<6 {
                sent.append(.now)
                #expect(try await agent.request(.get, AgentRoute.healthLive).status == .ok)
                received.append(.now)
                try await Task.sleep(for: .milliseconds(500))
            }
            let lastAnswer = try #require(received.last)
            while firstAnswers.withLock({ $0 }).isEmpty && ContinuousClock.now - lastAnswer < .seconds(10) {
                try await Task.sleep(for: .milliseconds(20))
            }
            let called = try #require(firstAnswers.withLock { $0 }.first)
            // An answer the client had before the call was counted before it, after its request was sent; the
            // call comes 2 s after the last answer counted. Unstalled, that puts it after the last request.
            for (start, end) in zip(sent, received) where end < called {
                #expect(called - start >= .milliseconds(1900), "called \(called - start) after a request")
            }
            #expect(called > sent[0])
            // Once only.
            #expect(try await agent.request(.get, AgentRoute.healthLive).status == .ok)
            try await Task.sleep(for: .milliseconds(2500))
            #expect(firstAnswers.withLock { $0 }.count == 1)
        }
    }

    static func waitReady(_ agent: AgentHarness) async throws -> HTTPResponse.Status {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let reply = try await agent.request(.get, AgentRoute.healthReady)
            if reply.status == .ok || ContinuousClock.now > deadline { return reply.status }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

extension AgentHarness {
    /// `POST /v1/memories` over TCP.
    func addMemory(_ request: MemoryCreateRequest) async throws -> Reply {
        try await self.request(.post, MemoryHandler.base, body: try JSONEncoder().encode(request))
    }

    /// Like ``with(writeToken:monitoredUnits:maintenance:_:)``, returning the body's value.
    static func returning<Value: Sendable>(_ body: @Sendable @escaping (AgentHarness) async throws -> Value)
        async throws
        -> Value
    {
        let box = ResultBox<Value>()
        try await with { agent in box.set(try await body(agent)) }
        return try #require(box.get())
    }

    /// Polls `GET /v1/memories/stats` until the agent no longer answers 503 `memory_opening` (the store opens in
    /// the background after the listeners bind), for at most `timeout`.
    func waitForMemory(timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            let reply = try await request(.get, "\(MemoryHandler.base)/stats")
            let opening = reply.status == .serviceUnavailable && (try? reply.error().code) == "memory_opening"
            guard opening else { return }
            try #require(ContinuousClock.now < deadline, "the memory store is still opening after \(timeout)")
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Starts an agent whose data directory `seed` prepared first; `memoryWillOpen` runs on the store's opening
    /// thread before it opens; the body starts once the store has opened (or failed to) unless `waitForMemory`
    /// is `false`; `onSettled` and `onFirstAnswer` are the server's; the monitor tails `logFiles` (name → path).
    static func withData(
        seed: (String) throws -> Void,
        logFiles: [String: String] = [:],
        memoryWillOpen: (@Sendable () -> Void)? = nil,
        waitForMemory: Bool = true,
        onSettled: @escaping @Sendable () async -> Void = {},
        onFirstAnswer: @escaping @Sendable () async -> Void = {},
        _ body: @Sendable (AgentHarness) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString)")
        let data = directory.appendingPathComponent("data").path
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try seed(data)
        let tokenFile = directory.appendingPathComponent("agent.token").path
        try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: "127.0.0.1", port: 0), tokenFile: tokenFile,
            socketPath: directory.appendingPathComponent("run/agent.sock").path, dataDirectory: data,
            logFiles: logFiles, monitorInterval: .seconds(1))
        var logger = Logger(label: "agent-test")
        logger.logLevel = .critical
        var server = AgentServer(
            configuration: configuration, logger: logger, execKillGrace: .seconds(1), handleSignals: false,
            maintenance: AgentMaintenanceOptions(
                freezer: IoctlFilesystemFreezer(mountsFile: "/nonexistent/mounts"),
                systemctlPath: "/nonexistent/systemctl", clockDriftThreshold: .seconds(3600)))
        server.memoryWillOpen = memoryWillOpen
        let serverToRun = server
        let (ready, continuation) = AsyncStream<AgentEndpoints>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await serverToRun.run(
                    onReady: { continuation.yield($0) }, onSettled: onSettled, onFirstAnswer: onFirstAnswer)
            }
            var iterator = ready.makeAsyncIterator()
            let endpoints = try #require(await iterator.next())
            defer { group.cancelAll() }
            let harness = AgentHarness(endpoints: endpoints, directory: directory)
            if waitForMemory { try await harness.waitForMemory() }
            try await body(harness)
        }
    }
}

/// Carries a value out of a `@Sendable` closure.
final class ResultBox<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)

    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
    func get() -> Value? { value.withLock { $0 } }
}

/// Holds a test agent's memory store in `memory_opening` until released (waited on by its opening thread).
final class MemoryOpenGate: Sendable {
    private let released = Atomic<Bool>(false)

    /// Blocks the calling (opening) thread until ``release()``.
    func wait() {
        while !released.load(ordering: .acquiring) { usleep(10_000) }
    }

    /// Lets the store open.
    func release() { released.store(true, ordering: .releasing) }
}

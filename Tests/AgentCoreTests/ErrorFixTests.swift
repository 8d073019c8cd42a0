import AgentAPI
import AgentLogMonitor
import AgentSystem
import Foundation
import HTTPTypes
import LogClassifier
import Memory
import Testing

@testable import AgentCore

let moduleLine = "ModuleNotFoundError: No module named 'torch'"
let importLine = "ImportError: cannot import name 'flash_attn_func' from 'flash_attn'"
private let timeoutLine = "curl: (28) Connection timed out after 10001 milliseconds"

extension AgentHarness {
    /// `POST /v1/errors/fixes` over TCP with a raw JSON body.
    func recordFix(json: String, token: String? = AgentHarness.token) async throws -> Reply {
        try await request(.post, AgentRoute.errorFixes, body: Data(json.utf8), token: token)
    }

    /// `POST /v1/errors/fixes`, expecting 201.
    func recordFix(_ body: ErrorFixRequest) async throws -> ErrorFix {
        let reply = try await request(.post, AgentRoute.errorFixes, body: try JSONEncoder().encode(body))
        try #require(reply.status == .created, "\(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        return try reply.decode(ErrorFixResponse.self).fix
    }

    /// The agent's classification of one line.
    func classify(_ line: String) async throws -> ClassifiedLine {
        let reply = try await request(
            .post, AgentRoute.classify, body: try JSONEncoder().encode(ClassifyRequest(lines: [line])))
        return try #require(try reply.decode(ClassifyResponse.self).results.first)
    }

    /// Polls `GET /v1/errors` until every line of `lines` is listed (from the log `app`), returning the entries by
    /// line.
    func errorEntries(_ lines: [String], timeout: Duration = .seconds(60)) async throws -> [String: ErrorEntry] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let response = try await get(AgentRoute.errors, as: ErrorsResponse.self)
            var entries: [String: ErrorEntry] = [:]
            for entry in response.errors where entry.source == "app" { entries[entry.line] = entry }
            if Set(lines).isSubset(of: entries.keys) { return entries }
            try #require(ContinuousClock.now < deadline, "not all of \(lines) listed: \(response.errors.map(\.line))")
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

extension AgentHarness {
    /// Starts an agent with a real memory store (its data directory prepared by `seed`) whose monitor tails a log
    /// file as `app`; the body gets the agent and the log file's path.
    static func withLog(
        seed: (String) throws -> Void = { _ in }, _ body: @Sendable (AgentHarness, String) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("fix-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("app.log").path
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        try await withData(seed: seed, logFiles: ["app": log]) { agent in
            try await body(agent, log)
        }
    }
}

/// Appends lines to a log file.
func appendLines(_ lines: [String], to path: String) throws {
    let handle = try #require(FileHandle(forWritingAtPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
}

@Suite("Error → fix loop", .timeLimit(.minutes(3)))
struct ErrorFixTests {
    @Test("Fixes recorded by line and by template come back with their errors: template matches above kind matches")
    func loop() async throws {
        try await AgentHarness.withLog { agent, log in
            let module = try await agent.classify(moduleLine)
            let importError = try await agent.classify(importLine)
            #expect(module.kind == importError.kind)
            #expect(module.template != importError.template)

            let byLine = try await agent.recordFix(
                ErrorFixRequest(fix: "pip install torch", line: moduleLine, tags: ["python"]))
            #expect(byLine.template == module.template)
            #expect(byLine.match == .template)
            #expect(byLine.score == 1)
            let byTemplate = try await agent.recordFix(
                ErrorFixRequest(fix: "pip install flash-attn --no-build-isolation", template: importError.template))
            #expect(byTemplate.template == importError.template)

            try appendLines([moduleLine, importLine, timeoutLine], to: log)
            let entries = try await agent.errorEntries([moduleLine, importLine, timeoutLine])
            let moduleFixes = try #require(entries[moduleLine]).fixes
            #expect(moduleFixes.map(\.memoryID) == [byLine.memoryID, byTemplate.memoryID])
            #expect(moduleFixes.map(\.match) == [.template, .kind])
            #expect(moduleFixes.first?.fix == "pip install torch")
            #expect(abs(try #require(moduleFixes.first).score - 0.9) < 1e-9)  // same line, 1 of its 5 words
            let importFixes = try #require(entries[importLine]).fixes
            #expect(importFixes.map(\.memoryID) == [byTemplate.memoryID, byLine.memoryID])
            #expect(importFixes.map(\.match) == [.template, .kind])
            #expect(importFixes[0].score > importFixes[1].score)
            #expect(try #require(entries[timeoutLine]).fixes.isEmpty)

            // A second fix of the template shows at once (the finder forgets what it read), above the kind match;
            // it scores as the first (same line, one shared word) and is newer.
            let second = try await agent.recordFix(ErrorFixRequest(fix: "install torch from conda", line: moduleLine))
            let again = try #require(try await agent.errorEntries([moduleLine])[moduleLine]).fixes
            #expect(again.map(\.memoryID) == [second.memoryID, byLine.memoryID, byTemplate.memoryID])
            #expect(again[0].score == again[1].score)

            // The same text recorded for another template links the one memory to both, listed once per error.
            let reused = try await agent.recordFix(
                ErrorFixRequest(fix: "pip install torch", template: importError.template))
            #expect(reused.memoryID == byLine.memoryID)
            #expect(reused.template == importError.template)
            let linked = try #require(try await agent.errorEntries([importLine])[importLine]).fixes
            #expect(linked.map(\.memoryID) == [byTemplate.memoryID, byLine.memoryID, second.memoryID])
            #expect(linked.map(\.match) == [.template, .template, .kind])
            let stillOnce = try #require(try await agent.errorEntries([moduleLine])[moduleLine]).fixes
            #expect(stillOnce.map(\.memoryID) == [second.memoryID, byLine.memoryID, byTemplate.memoryID])

            // The fixes are error_fix memories in the namespace `errors`, with their template in the metadata.
            let search = try await agent.request(
                .post, "\(MemoryHandler.base)/search",
                body: try JSONEncoder().encode(
                    MemorySearchRequest(namespace: "errors", query: "pip install torch", kinds: [.errorFix])))
            let hit = try #require(try search.decode(MemorySearchResponse.self).hits.first?.memory)
            #expect(hit.id == byLine.memoryID)
            #expect(hit.metadata["template"] == module.template)
            #expect(hit.metadata["kind"] == "missing_module")
            #expect(hit.metadata["category"] == "DEPENDENCY_MISSING")
            #expect(hit.metadata["line"] == moduleLine)
            #expect(hit.metadata["template.1"] == importError.template)
            #expect(hit.metadata["kind.1"] == "missing_module")
            #expect(hit.tags == ["python"])
            #expect(hit.importance == .high)
        }
    }

    @Test("Bad bodies are answered with 400 naming the field; a wrong token with 401")
    func badBodies() async throws {
        try await AgentHarness.with { agent in
            let cases = [
                (#"{}"#, "fix: is required"),
                (#"{"fix":5,"line":"x"}"#, "fix: has the wrong type"),
                (#"{"fix":" ","line":"No module named 'x'"}"#, "fix: must not be empty"),
                (#"{"fix":"x"}"#, "template: give exactly one of template or line"),
                (#"{"fix":"x","template":"t","line":"No module named 'x'"}"#, "line: give exactly one of"),
                (#"{"fix":"x","template":""}"#, "template: must not be empty"),
                (#"{"fix":"x","template":"t","namespace":"no spaces"}"#, "namespace: 'no spaces' must be"),
                (#"{"fix":"x","template":"t","tags":["ok",""]}"#, "tags[1]: must be 1 to 256 bytes"),
                (#"{"fix":"\#(String(repeating: "a", count: 65_537))","template":"t"}"#, "fix: is 65537 bytes"),
            ]
            for (body, message) in cases {
                let reply = try await agent.recordFix(json: body)
                #expect(reply.status == .badRequest, "\(body.prefix(80))")
                let error = try reply.error()
                #expect(error.code == "bad_request")
                #expect(error.message.hasPrefix(message), "\(error.message)")
            }
            let quiet = try await agent.recordFix(json: #"{"fix":"x","line":"all good, 3 files copied"}"#)
            #expect(quiet.status == .badRequest)
            #expect(try quiet.error().message.hasPrefix("line: the classifier finds no error in it"))
            let unauthorized = try await agent.recordFix(
                json: #"{"fix":"x","line":"No module named 'x'"}"#, token: "wrong-token")
            #expect(unauthorized.status == .unauthorized)
        }
    }

    @Test("While filesystems are frozen recording a fix is 409 and errors are still listed; after the thaw it is 201")
    func frozen() async throws {
        let freezer = RecordingFreezer(mounts: ["/pretend"])
        try await AgentHarness.with(maintenance: AgentMaintenanceOptions(freezer: freezer)) { agent in
            let body = #"{"fix":"pip install torch","line":"\#(moduleLine)"}"#
            let frozen = try await agent.request(
                .post, AgentRoute.fsFreeze, body: try JSONEncoder().encode(FreezeRequest(timeoutSeconds: 60)))
            #expect(frozen.status == .ok)
            let refused = try await agent.recordFix(json: body)
            #expect(refused.status == .conflict)
            #expect(try refused.error().message.hasPrefix("filesystems are frozen: recording a fix writes to disk"))
            #expect(try await agent.request(.get, AgentRoute.errors).status == .ok)
            #expect(try await agent.request(.post, AgentRoute.fsThaw).status == .ok)
            #expect(try await agent.recordFix(json: body).status == .created)
        }
    }

    @Test("Without a memory store errors are still listed, with no fixes, and recording one answers 503")
    func memoryUnavailable() async throws {
        let foreign = Data("not a database\n".utf8)
        try await AgentHarness.withLog(seed: { data in
            try foreign.write(to: URL(fileURLWithPath: data + "/memory.sqlite"))
        }) { agent, log in
            let refused = try await agent.recordFix(json: #"{"fix":"pip install torch","line":"\#(moduleLine)"}"#)
            #expect(refused.status == .serviceUnavailable)
            #expect(try refused.error().code == "memory_degraded")
            try appendLines([moduleLine], to: log)
            let entries = try await agent.errorEntries([moduleLine])
            #expect(try #require(entries[moduleLine]).fixes.isEmpty)
        }
    }

    @Test("At most 3 fixes per error; equal matches rank by the same line and the error's words, then the newest")
    func ranking() throws {
        let classifier = LogClassifier()
        let torch = classifier.classify(moduleLine)
        let other = classifier.classify(importLine)
        func memory(_ id: String, _ fix: String, _ classification: LogClassification, line: String?, at: Double)
            -> MemoryRecord
        {
            MemoryRecord(
                id: id, namespace: "errors", kind: .errorFix, content: fix,
                metadata: ErrorFixFinder.metadata(for: classification, template: classification.template, line: line),
                createdAt: Date(timeIntervalSince1970: at), updatedAt: Date(timeIntervalSince1970: at),
                contentHash: id)
        }
        let index = ErrorFixFinder.index(
            [
                memory(
                    "numpy", "pip install numpy", torch, line: "ModuleNotFoundError: No module named 'numpy'", at: 3),
                memory("torch", "pip install torch", torch, line: nil, at: 1),
                memory("old", "pip install it", torch, line: nil, at: 0),
                memory("kind", "pip install flash-attn", other, line: importLine, at: 9),
                memory(
                    "fact", "not a fix", torch, line: nil, at: 9
                ).with { $0.kind = .coreFact },
            ], at: .now)
        let record = ErrorRecord(
            source: "app", line: moduleLine, trace: [], classification: torch, firstSeen: Date(), lastSeen: Date(),
            count: 1)
        let fixes = ErrorFixFinder.fixes(for: record, in: index)
        #expect(fixes.map(\.memoryID) == ["torch", "numpy", "old"])
        #expect(fixes.allSatisfy { $0.match == .template && (0.75...1).contains($0.score) })
        let kindOnly = ErrorFixFinder.fixes(
            for: ErrorRecord(
                source: "app", line: importLine, trace: [], classification: other, firstSeen: Date(),
                lastSeen: Date(), count: 1),
            in: ErrorFixFinder.index([memory("torch", "pip install torch", torch, line: moduleLine, at: 1)], at: .now))
        #expect(kindOnly.map(\.match) == [.kind])
        #expect((0.375...0.5).contains(try #require(kindOnly.first).score))
    }
}

extension MemoryRecord {
    /// A copy changed by `change`.
    fileprivate func with(_ change: (inout MemoryRecord) -> Void) -> MemoryRecord {
        var copy = self
        change(&copy)
        return copy
    }
}

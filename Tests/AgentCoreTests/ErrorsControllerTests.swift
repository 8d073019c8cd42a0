import AgentAPI
import AgentBasics
import AgentCore
import AgentSystem
import Foundation
import HTTPTypes
import Logging
import Testing

/// Runs a real agent whose monitor tails `logFiles`, with its data directory inside `directory` (kept between
/// runs, so a second run is a restart).
private func withAgent(
    directory: URL, logFiles: [String: String], _ body: @Sendable (AgentHarness) async throws -> Void
) async throws {
    let tokenFile = directory.appendingPathComponent("agent.token").path
    try (AgentHarness.token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
    let configuration = AgentConfiguration(
        listen: AgentListenAddress(host: "127.0.0.1", port: 0),
        tokenFile: tokenFile,
        socketPath: directory.appendingPathComponent("run-\(UUID().uuidString.prefix(8))/agent.sock").path,
        dataDirectory: directory.appendingPathComponent("data").path,
        logFiles: logFiles,
        journal: false,
        monitorInterval: .milliseconds(200)
    )
    var logger = Logger(label: "errors-test")
    logger.logLevel = .warning
    let server = AgentServer(
        configuration: configuration, logger: logger, execKillGrace: .seconds(1), handleSignals: false,
        maintenance: AgentMaintenanceOptions(
            freezer: IoctlFilesystemFreezer(mountsFile: "/nonexistent/mounts"), systemctlPath: "/nonexistent/systemctl",
            clockDriftThreshold: .seconds(3600)))
    let (ready, continuation) = AsyncStream<AgentEndpoints>.makeStream()
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run { continuation.yield($0) } }
        var iterator = ready.makeAsyncIterator()
        let endpoints = try #require(await iterator.next())
        do {
            try await body(AgentHarness(endpoints: endpoints, directory: directory))
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

/// A fresh temporary directory.
private func temporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("errors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Appends text to a file, creating it when missing.
private func append(_ text: String, to path: String) throws {
    if !FileManager.default.fileExists(atPath: path) {
        FileManager.default.createFile(atPath: path, contents: nil)
    }
    let handle = try #require(FileHandle(forWritingAtPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}

extension AgentHarness {
    /// Polls `GET /v1/errors` until `condition` holds, returning the last answer either way.
    func errors(
        query: String = "", timeout: Duration = .seconds(60), until condition: (ErrorsResponse) -> Bool
    ) async throws -> ErrorsResponse {
        let deadline = ContinuousClock.now + timeout
        while true {
            let response = try await get(AgentRoute.errors + query, as: ErrorsResponse.self)
            if condition(response) || ContinuousClock.now > deadline { return response }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

private let timeoutLine = "curl: (28) Connection timed out after 10001 milliseconds"

@Suite("Agent error routes", .timeLimit(.minutes(3)))
struct ErrorsControllerTests {
    @Test("A log file's traceback shows up in /v1/errors as one event and in /v1/stats error_counts")
    func tailedTraceback() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("app.log").path
        try await withAgent(directory: directory, logFiles: ["app": log]) { agent in
            try append(
                """
                starting training
                Traceback (most recent call last):
                  File "/app/train.py", line 1, in <module>
                    import torch
                ModuleNotFoundError: No module named 'torch'

                """, to: log)
            let response = try await agent.errors { !$0.errors.isEmpty }
            let entry = try #require(response.errors.first)
            #expect(response.errors.count == 1)
            #expect(entry.source == "app")
            #expect(entry.line == "ModuleNotFoundError: No module named 'torch'")
            #expect(entry.trace.count == 4)
            #expect(entry.classification.category == "DEPENDENCY_MISSING")
            #expect(entry.classification.kind == "missing_module")
            #expect(entry.classification.entities.module == "torch")
            #expect(entry.classification.suggestion?.contains("torch") == true)
            #expect(entry.count == 1)
            #expect(response.counts == ["DEPENDENCY_MISSING": 1])
            let deadline = ContinuousClock.now + .seconds(30)
            var stats = try await agent.get(AgentRoute.stats, as: StatsResponse.self)
            while stats.errorCounts["DEPENDENCY_MISSING"] != 1 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                stats = try await agent.get(AgentRoute.stats, as: StatsResponse.self)
            }
            #expect(stats.errorCounts == ["DEPENDENCY_MISSING": 1])
        }
    }

    @Test("Filters by category, since and limit, newest first, and counts repeats of a template")
    func filters() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("app.log").path
        try await withAgent(directory: directory, logFiles: ["app": log]) { agent in
            try append("\(timeoutLine)\n\(timeoutLine)\n\(timeoutLine)\n", to: log)
            _ = try await agent.errors { $0.errors.first?.count == 3 }
            try await Task.sleep(for: .milliseconds(50))
            let cut = Date().timeIntervalSince1970
            try await Task.sleep(for: .milliseconds(50))
            try append("Segmentation fault (core dumped)\n", to: log)
            let all = try await agent.errors { $0.errors.count == 2 }
            #expect(all.errors.map(\.classification.category) == ["RUNTIME_ERROR", "NETWORK_FAILURE"])
            #expect(all.errors.last?.count == 3)
            #expect(all.counts == ["RUNTIME_ERROR": 1, "NETWORK_FAILURE": 3])
            let network = try await agent.get(AgentRoute.errors + "?category=network_failure", as: ErrorsResponse.self)
            #expect(network.errors.map(\.classification.kind) == ["timeout"])
            let recent = try await agent.get(AgentRoute.errors + "?since=\(cut)", as: ErrorsResponse.self)
            #expect(recent.errors.map(\.classification.category) == ["RUNTIME_ERROR"])
            let iso = Date(timeIntervalSince1970: cut).formatted(.iso8601)
            let byISO = try await agent.get(AgentRoute.errors + "?since=\(iso)", as: ErrorsResponse.self)
            #expect(byISO.errors.count <= 2 && byISO.errors.first?.classification.category == "RUNTIME_ERROR")
            let one = try await agent.get(AgentRoute.errors + "?limit=1", as: ErrorsResponse.self)
            #expect(one.errors.count == 1)
        }
    }

    @Test("A file rotated by rename and a truncated file are read on without losing or repeating lines")
    func rotation() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("app.log").path
        try await withAgent(directory: directory, logFiles: ["app": log]) { agent in
            try append("\(timeoutLine)\n\(timeoutLine)\n", to: log)
            _ = try await agent.errors { $0.counts["NETWORK_FAILURE"] == 2 }
            try append("\(timeoutLine)\n", to: log)
            try FileManager.default.moveItem(atPath: log, toPath: log + ".1")
            try append("\(timeoutLine)\n\(timeoutLine)\n", to: log)
            let rotated = try await agent.errors { $0.counts["NETWORK_FAILURE"] == 5 }
            #expect(rotated.counts["NETWORK_FAILURE"] == 5)
            try Data().write(to: URL(fileURLWithPath: log))
            try append("Segmentation fault (core dumped)\n", to: log)
            let truncated = try await agent.errors { $0.counts["RUNTIME_ERROR"] == 1 }
            #expect(truncated.counts == ["NETWORK_FAILURE": 5, "RUNTIME_ERROR": 1])
            #expect(truncated.errors.first { $0.classification.category == "NETWORK_FAILURE" }?.count == 5)
        }
    }

    @Test("A restarted agent neither loses nor re-counts lines, and keeps its recent list")
    func restart() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("app.log").path
        try append("\(timeoutLine)\n\(timeoutLine)\n\(timeoutLine)\n", to: log)
        try await withAgent(directory: directory, logFiles: ["app": log]) { agent in
            let first = try await agent.errors { $0.counts["NETWORK_FAILURE"] == 3 }
            #expect(first.counts["NETWORK_FAILURE"] == 3)
        }
        // Written while no agent runs: must be counted exactly once by the next one.
        try append("\(timeoutLine)\n\(timeoutLine)\n", to: log)
        try await withAgent(directory: directory, logFiles: ["app": log]) { agent in
            let second = try await agent.errors { $0.counts["NETWORK_FAILURE"] == 5 }
            #expect(second.counts["NETWORK_FAILURE"] == 5)
            #expect(second.errors.first?.count == 5)
            // Nothing more arrives: the count stays.
            try await Task.sleep(for: .seconds(1))
            let later = try await agent.get(AgentRoute.errors, as: ErrorsResponse.self)
            #expect(later.counts["NETWORK_FAILURE"] == 5)
        }
        let state = try Data(contentsOf: directory.appendingPathComponent("data/errors.json"))
        #expect(String(decoding: state, as: UTF8.self).contains("NETWORK_FAILURE"))
    }

    @Test("Bad since, category and limit are answered with 400 naming the parameter")
    func badParameters() async throws {
        try await AgentHarness.with { agent in
            let cases = [
                ("?since=yesterday", "since: must be an ISO 8601 time"),
                ("?category=disk", "category: must be one of CUDA_ERROR, NETWORK_FAILURE"),
                ("?limit=0", "limit: must be an integer from 1 to 1000, not '0'"),
                ("?limit=many", "limit: must be an integer from 1 to 1000, not 'many'"),
            ]
            for (query, message) in cases {
                let reply = try await agent.request(.get, AgentRoute.errors + query)
                #expect(reply.status == .badRequest, "\(query)")
                let error = try reply.error()
                #expect(error.code == "bad_request")
                #expect(error.message.hasPrefix(message), "\(query): \(error.message)")
            }
        }
    }
}

@Suite("POST /v1/classify", .timeLimit(.minutes(2)))
struct ClassifyRouteTests {
    @Test("Returns one result per line, in order, empty lines included")
    func classify() async throws {
        try await AgentHarness.with { agent in
            let lines = [
                "ModuleNotFoundError: No module named 'torch'", "", "GET /index.html 200",
                "ssh: connect to host segfault.example.com port 22: Connection timed out",
            ]
            let reply = try await agent.request(
                .post, AgentRoute.classify, body: try JSONEncoder().encode(ClassifyRequest(lines: lines)))
            #expect(reply.status == .ok)
            let results = try reply.decode(ClassifyResponse.self).results
            #expect(results.map(\.category) == ["DEPENDENCY_MISSING", "OTHER", "OTHER", "NETWORK_FAILURE"])
            #expect(results[0].entities.module == "torch")
            #expect(results[3].entities.host == "segfault.example.com")
            #expect(results[1].suggestion == nil)
        }
    }

    @Test("More than 10,000 lines is 413 naming lines; a body without lines is 400")
    func limits() async throws {
        try await AgentHarness.with { agent in
            let many = ClassifyRequest(lines: Array(repeating: "x", count: ClassifyRequest.maximumLines + 1))
            let tooMany = try await agent.request(.post, AgentRoute.classify, body: try JSONEncoder().encode(many))
            #expect(tooMany.status == .contentTooLarge)
            #expect(try tooMany.error().message == "lines: at most 10000 lines per request, not 10001")
            let missing = try await agent.request(.post, AgentRoute.classify, body: Data(#"{"line":"x"}"#.utf8))
            #expect(missing.status == .badRequest)
            #expect(try missing.error().message == "lines: is required")
            let wrong = try await agent.request(.post, AgentRoute.classify, body: Data(#"{"lines":[1]}"#.utf8))
            #expect(wrong.status == .badRequest)
            #expect(try wrong.error().message.hasPrefix("lines.[0]: has the wrong type"))
        }
    }
}

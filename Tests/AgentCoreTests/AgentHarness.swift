import AgentAPI
import AgentCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// A running in-process agent on 127.0.0.1:0 with a temporary socket, token file and data directory.
struct AgentHarness {
    static let token = "test-token-0123456789"

    let endpoints: AgentEndpoints
    let directory: URL

    /// One answer of the agent.
    struct Reply {
        var status: HTTPResponse.Status
        var body: Data

        func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
            try JSONDecoder().decode(Value.self, from: body)
        }

        /// The error body's code and message.
        func error() throws -> APIErrorBody.Detail {
            try decode(APIErrorBody.self).error
        }
    }

    /// Starts an agent, runs `body` against it, and stops the agent.
    static func with(
        writeToken: Bool = true,
        monitoredUnits: [String] = [],
        _ body: @Sendable (AgentHarness) async throws -> Void
    ) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("agent.token").path
        if writeToken { try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8) }
        let configuration = AgentConfiguration(
            listen: AgentListenAddress(host: "127.0.0.1", port: 0),
            tokenFile: tokenFile,
            socketPath: directory.appendingPathComponent("run/agent.sock").path,
            dataDirectory: directory.appendingPathComponent("data").path,
            monitoredUnits: monitoredUnits,
            monitorInterval: .seconds(1)
        )
        var logger = Logger(label: "agent-test")
        logger.logLevel = .warning
        let server = AgentServer(
            configuration: configuration, logger: logger, execKillGrace: .seconds(1), handleSignals: false)
        let (ready, continuation) = AsyncStream<AgentEndpoints>.makeStream()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.run { continuation.yield($0) }
            }
            var iterator = ready.makeAsyncIterator()
            let endpoints = try #require(await iterator.next())
            let harness = AgentHarness(endpoints: endpoints, directory: directory)
            do {
                try await body(harness)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// Sends a request over TCP, with the bearer token unless `token` says otherwise.
    func request(
        _ method: HTTPRequest.Method,
        _ path: String,
        body: Data? = nil,
        token: String? = AgentHarness.token
    ) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        if body != nil { headers[.contentType] = "application/json" }
        let request = TestClient.Request(
            path,
            method: method,
            headers: headers,
            body: body.map { ByteBuffer(bytes: $0) }
        )
        let response = try await TestClient.withClient(host: endpoints.host, port: endpoints.port) { client in
            try await client.execute(request)
        }
        return Reply(status: response.status, body: Data(response.body.map { $0.readableBytesView } ?? []))
    }

    /// `GET` with the token, decoding a 200 answer.
    func get<Value: Decodable>(_ path: String, as type: Value.Type) async throws -> Value {
        let reply = try await request(.get, path)
        try #require(reply.status == .ok, "GET \(path): \(reply.status) \(String(decoding: reply.body, as: UTF8.self))")
        return try reply.decode(type)
    }

    /// Starts an exec job and returns its id.
    func startJob(_ request: ExecRequest) async throws -> String {
        let reply = try await self.request(.post, AgentRoute.exec, body: try JSONEncoder().encode(request))
        try #require(reply.status == .accepted, "\(String(decoding: reply.body, as: UTF8.self))")
        return try reply.decode(ExecStartResponse.self).id
    }

    /// Polls a job until it finishes.
    func waitForJob(_ id: String, timeout: Duration = .seconds(30)) async throws -> ExecJobResponse {
        let deadline = ContinuousClock.now + timeout
        while true {
            let job = try await get("\(AgentRoute.exec)/\(id)", as: ExecJobResponse.self)
            if job.state.isFinal || ContinuousClock.now > deadline { return job }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Runs `curl` against the unix socket (on its own thread) and returns the status and body.
    func unixRequest(_ path: String) async throws -> (status: Int, body: Data) {
        let socketPath = endpoints.socketPath
        return try await onThread { try Self.curl(socketPath: socketPath, path) }
    }

    private static func curl(socketPath: String, _ path: String) throws -> (status: Int, body: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-w", "\n%{http_code}", "--unix-socket", socketPath, "http://agent\(path)"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self)
        let newline = text.lastIndex(of: "\n") ?? text.endIndex
        let status = Int(text[newline...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        return (status, Data(text[..<newline].utf8))
    }
}

/// Runs blocking work (child processes) on a new thread so it never blocks the cooperative pool.
func onThread<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

import AgentAPI
import AgentBasics
import AgentCore
import AgentSystem
import Curl
import Foundation
import HTTPTypes
import Logging
import ServiceLifecycle
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
        maintenance: AgentMaintenanceOptions = AgentMaintenanceOptions(
            freezer: IoctlFilesystemFreezer(mountsFile: "/nonexistent/mounts"), systemctlPath: "/nonexistent/systemctl",
            clockDriftThreshold: .seconds(3600)),
        connections: AgentConnectionOptions = AgentConnectionOptions(socketGroup: nil),
        reloadable: Bool = false,
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
            tlsDirectory: directory.appendingPathComponent("tls").path,
            socketPath: directory.appendingPathComponent("run/agent.sock").path,
            dataDirectory: directory.appendingPathComponent("data").path,
            monitoredUnits: monitoredUnits,
            monitorInterval: .seconds(1)
        )
        var logger = Logger(label: "agent-test")
        logger.logLevel = .warning
        // With `reloadable`, the configuration is also written to `agent.json`, which a reload reads again.
        var source: AgentConfiguration.Source?
        if reloadable {
            let path = directory.appendingPathComponent("agent.json").path
            try configuration.jsonText().write(toFile: path, atomically: true, encoding: .utf8)
            source = AgentConfiguration.Source(path: path)
        }
        let server = AgentServer(
            configuration: configuration, configurationSource: source, logger: logger, execKillGrace: .seconds(1),
            handleSignals: false, maintenance: maintenance, connections: connections)
        let (ready, continuation) = AsyncStream<AgentEndpoints>.makeStream()
        // Stopped the way systemd stops it, by a graceful shutdown: cancelling the listeners while connections
        // wait to be accepted (the connection-limit tests leave thousands) traps in NIO.
        let services = ServiceGroup(
            configuration: .init(
                services: [HarnessService(server: server, onReady: { continuation.yield($0) })], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await services.run()
            }
            var iterator = ready.makeAsyncIterator()
            let endpoints = try #require(await iterator.next())
            let harness = AgentHarness(endpoints: endpoints, directory: directory)
            var failure: (any Error)?
            do {
                try await harness.waitForMemory()
                try await body(harness)
            } catch {
                failure = error
            }
            await services.triggerGracefulShutdown()
            group.addTask { try await Task.sleep(for: .seconds(20)) }
            _ = try? await group.next()
            group.cancelAll()
            if let failure { throw failure }
        }
    }

    /// The one curl client of the test process (the host's HTTP client).
    static let curl: CurlClient? = try? CurlClient()

    /// Sends a request over TCP with the host's curl client, with the bearer token unless `token` says
    /// otherwise, and `headers` besides.
    func request(
        _ method: HTTPRequest.Method,
        _ path: String,
        body: Data? = nil,
        headers extra: [String: String] = [:],
        token: String? = AgentHarness.token
    ) async throws -> Reply {
        let client = try #require(Self.curl)
        var headers = extra
        if body != nil { headers["Content-Type"] = "application/json" }
        let request = CurlRequest(
            method: CurlMethod(rawValue: method.rawValue),
            url: "http://\(endpoints.host):\(endpoints.port)\(path)",
            headers: headers,
            body: body.map { Array($0) },
            bearerToken: token
        )
        let response = try await client.perform(request)
        return Reply(status: HTTPResponse.Status(code: response.status), body: Data(response.body))
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
        return try reply.decode(JobStartResponse.self).id
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

    /// Sends a request over the unix socket (no token) with the host's curl client.
    func unixRequest(_ path: String, method: CurlMethod = .get, body: Data? = nil) async throws -> Reply {
        let client = try #require(Self.curl)
        let request = CurlRequest(
            method: method,
            url: "http://agent\(path)",
            headers: body == nil ? [:] : ["Content-Type": "application/json"],
            body: body.map { Array($0) },
            unixSocketPath: endpoints.socketPath
        )
        let response = try await client.perform(request)
        return Reply(status: HTTPResponse.Status(code: response.status), body: Data(response.body))
    }
}

/// Runs blocking work (child processes) on a new thread so it never blocks the cooperative pool.
func onThread<Value: Sendable>(_ work: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// The agent server as a service of the harness's group, so that the group's graceful shutdown reaches it.
private struct HarnessService: Service {
    let server: AgentServer
    let onReady: @Sendable (AgentEndpoints) async -> Void

    func run() async throws {
        try await server.run(onReady: onReady)
    }
}

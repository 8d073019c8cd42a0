import AgentAPI
import AgentCore
import Foundation
import HTTPTypes
import Testing

@Suite("Agent HTTP server", .timeLimit(.minutes(2)))
struct AgentServerTests {
    @Test("Liveness answers without a token")
    func live() async throws {
        try await AgentHarness.with { agent in
            let reply = try await agent.request(.get, AgentRoute.healthLive, token: nil)
            #expect(reply.status == .ok)
            #expect(try reply.decode(LiveResponse.self) == LiveResponse())
        }
    }

    @Test("Readiness turns 200 once the monitor has sampled, listing its checks")
    func ready() async throws {
        try await AgentHarness.with { agent in
            let deadline = ContinuousClock.now + .seconds(20)
            var reply = try await agent.request(.get, AgentRoute.healthReady)
            while reply.status != .ok && ContinuousClock.now < deadline {
                #expect(reply.status == .serviceUnavailable)
                #expect(try reply.decode(ReadyResponse.self).checks.contains { $0.name == "monitor_ticked" && !$0.ok })
                try await Task.sleep(for: .milliseconds(100))
                reply = try await agent.request(.get, AgentRoute.healthReady)
            }
            #expect(reply.status == .ok)
            let ready = try reply.decode(ReadyResponse.self)
            #expect(ready.status == "ready")
            #expect(ready.checks.map(\.name) == ["config_loaded", "monitor_ticked"])
        }
    }

    @Test("Status reports versions, the binary's sha256, boot id and host name")
    func status() async throws {
        try await AgentHarness.with { agent in
            let status = try await agent.get(AgentRoute.status, as: StatusResponse.self)
            #expect(status.agentVersion == AgentProtocol.somnusVersion)
            #expect(status.protocolVersion == AgentProtocol.protocolVersion)
            let expected = try await onThread { try sha256sum("/proc/\(getpid())/exe") }
            #expect(status.binarySHA256 == expected)
            #expect(status.uptimeSeconds >= 0)
            #expect(status.bootID.count == 36)
            #expect(status.hostname == ProcessInfo.processInfo.hostName)
            #expect(status.features.contains("exec"))
        }
    }

    @Test("Stats report CPU, memory, disks, load, network and monitored units")
    func stats() async throws {
        try await AgentHarness.with(monitoredUnits: ["somnus-test-missing.service"]) { agent in
            let stats = try await agent.get(AgentRoute.stats, as: StatsResponse.self)
            #expect(stats.cpuCount >= 1)
            #expect(stats.memoryTotalBytes > 0)
            #expect(stats.memoryAvailableBytes <= stats.memoryTotalBytes)
            #expect(stats.loadAverages.count == 3)
            #expect(stats.filesystems.contains { $0.mountPoint == "/" })
            #expect(stats.timestamp > 1_600_000_000)
            #expect(stats.errorCounts.isEmpty)
            let unit = try #require(stats.units.first)
            #expect(unit.name == "somnus-test-missing.service")
            #expect(unit.mainPID == nil)
            #expect(["unknown", "inactive"].contains(unit.activeState))
        }
    }

    @Test("A missing token is refused with 401 and a JSON error")
    func missingToken() async throws {
        try await AgentHarness.with { agent in
            let reply = try await agent.request(.get, AgentRoute.status, token: nil)
            #expect(reply.status == .unauthorized)
            #expect(try reply.error() == .init(code: "unauthorized", message: "missing Authorization: Bearer header"))
        }
    }

    @Test("A wrong token is refused with 401, also on unknown routes")
    func wrongToken() async throws {
        try await AgentHarness.with { agent in
            for path in [AgentRoute.stats, "/v1/nothing", AgentRoute.healthReady] {
                let reply = try await agent.request(.get, path, token: "wrong")
                #expect(reply.status == .unauthorized)
                #expect(try reply.error() == .init(code: "unauthorized", message: "wrong bearer token"))
            }
        }
    }

    @Test("Without a token file the TCP listener refuses everything but liveness")
    func failClosed() async throws {
        try await AgentHarness.with(writeToken: false) { agent in
            let reply = try await agent.request(.get, AgentRoute.status, token: "")
            #expect(reply.status == .unauthorized)
            let error = try reply.error()
            #expect(error.code == "unauthorized")
            #expect(error.message.contains("no usable token"))
            #expect(error.message.contains("agent.token"))
            #expect(try await agent.request(.get, AgentRoute.healthLive, token: nil).status == .ok)
            #expect(try await agent.unixRequest(AgentRoute.status).status == .ok)
        }
    }

    @Test("A body sent in chunks, without Content-Length, is read whole; a POST without one is refused naming it")
    func chunkedBody() async throws {
        try await AgentHarness.with { agent in
            let memory = Data(#"{"namespace":"default","content":"the build cache lives in /srv/cache"}"#.utf8)
            // libcurl sends the body chunked when the request carries this header.
            let chunked = try await agent.request(
                .post, "/v1/memories", body: memory, headers: ["Transfer-Encoding": "chunked"])
            #expect(chunked.status == .created)
            let empty = try await agent.request(.post, "/v1/memories")
            #expect(empty.status == .badRequest)
            let refusal = try empty.error()
            #expect(refusal.code == "bad_request" && refusal.message.contains("body"), "\(refusal)")
        }
    }

    @Test("An unknown route is 404 with a JSON error")
    func unknownRoute() async throws {
        try await AgentHarness.with { agent in
            let reply = try await agent.request(.get, "/v1/nothing")
            #expect(reply.status == .notFound)
            #expect(try reply.error() == .init(code: "not_found", message: "no route for GET /v1/nothing"))
        }
    }

    @Test("The unix socket needs no token, has mode 0660 and answers JSON errors")
    func unixSocket() async throws {
        try await AgentHarness.with { agent in
            let attributes = try FileManager.default.attributesOfItem(atPath: agent.endpoints.socketPath)
            #expect((attributes[.posixPermissions] as? Int) == 0o660)
            let status = try await agent.unixRequest(AgentRoute.status)
            #expect(status.status == .ok)
            #expect(try status.decode(StatusResponse.self).protocolVersion == 1)
            let missing = try await agent.unixRequest("/v1/missing")
            #expect(missing.status == .notFound)
            #expect(try missing.error().code == "not_found")
        }
    }
}

/// The hex sha256 of a file, by the `sha256sum` tool.
func sha256sum(_ path: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
    process.arguments = [path]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(String(decoding: output, as: UTF8.self).prefix(64))
}

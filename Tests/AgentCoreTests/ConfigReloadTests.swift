import AgentAPI
import AgentCore
import Foundation
import HTTPTypes
import Testing

@Suite("Configuration reload without a restart")
struct ConfigReloadTests {
    /// The harness's configuration file with `change` applied to its JSON object.
    private func rewrite(_ agent: AgentHarness, _ change: (inout [String: Any]) -> Void) throws {
        let path = agent.directory.appendingPathComponent("agent.json").path
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        change(&object)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    /// The names of the units `/v1/stats` reports, once a sample lists `expected` (or after 10 s).
    private func units(_ agent: AgentHarness, waitingFor expected: [String]) async throws -> [String] {
        var names: [String] = []
        for _ in 0..<100 {
            names = try await agent.get(AgentRoute.stats, as: StatsResponse.self).units.map(\.name)
            if names == expected { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return names
    }

    @Test("POST /v1/config/reload puts new monitored units in force and names keys that wait for a restart")
    func reloadOverHTTP() async throws {
        try await AgentHarness.with(reloadable: true) { agent in
            #expect(try await units(agent, waitingFor: []) == [])
            try rewrite(agent) { object in
                object["monitored_units"] = ["reloaded.service"]
                object["listen"] = "127.0.0.1:9"
            }
            let reply = try await agent.request(.post, AgentRoute.configReload)
            #expect(reply.status == .ok, "\(String(decoding: reply.body, as: UTF8.self))")
            let answer = try reply.decode(ConfigReloadResponse.self)
            #expect(answer.changed == ["monitored_units"])
            #expect(answer.restartRequired == ["listen"])
            #expect(try await units(agent, waitingFor: ["reloaded.service"]) == ["reloaded.service"])
            // The connection the request came on is still served: the listener was not touched.
            #expect(try await agent.request(.get, AgentRoute.healthLive).status == .ok)
            let events = try await agent.get(AgentRoute.events, as: EventsResponse.self).events
            #expect(events.contains { $0.kind == AgentEventKind.configReloaded })
        }
    }

    @Test("a refused file answers 400 naming the key, and the running configuration stays in force")
    func refusedFile() async throws {
        try await AgentHarness.with(reloadable: true) { agent in
            try rewrite(agent) { $0["monitored_units"] = ["first.service"] }
            #expect(try await agent.request(.post, AgentRoute.configReload).status == .ok)
            try rewrite(agent) { $0["monitored_units"] = 5 }
            let reply = try await agent.request(.post, AgentRoute.configReload)
            #expect(reply.status == .badRequest)
            let error = try reply.error()
            #expect(error.code == "invalid_configuration")
            #expect(error.message.contains("monitored_units"), "\(error.message)")
            #expect(try await units(agent, waitingFor: ["first.service"]) == ["first.service"])
        }
    }

    @Test("an agent without a configuration file answers 409")
    func nothingToReload() async throws {
        try await AgentHarness.with { agent in
            let reply = try await agent.request(.post, AgentRoute.configReload)
            #expect(reply.status == .conflict)
            #expect(try reply.error().message.contains("without a configuration file"))
        }
    }
}

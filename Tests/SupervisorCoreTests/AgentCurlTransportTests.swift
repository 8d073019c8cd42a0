import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
import Foundation
import SupervisorCore
import Testing

@Suite("The generated agent client over curl", .timeLimit(.minutes(1)))
struct AgentCurlTransportTests {
    @Test("The generated client reads a real agent's liveness and status, and its documented 401")
    func liveStatusAndRefusal() async throws {
        try await RealAgent.with(token: "transport-token") { address in
            let curl = try CurlClient()
            let url = try #require(URL(string: "http://\(address)"))
            let client = Client(
                serverURL: url, transport: AgentCurlTransport(curl: curl, bearerToken: "transport-token"))

            let live = try await client.getLiveness().ok.body.json
            #expect(live.status == "live")
            let status = try await client.getStatus().ok.body.json
            #expect(status.protocolVersion == 1)
            #expect(status.features.contains("exec"))

            let anonymous = Client(serverURL: url, transport: AgentCurlTransport(curl: curl))
            guard case .default(let code, let refusal) = try await anonymous.getStatus() else {
                Issue.record("GET /v1/status without a token was answered with a success")
                return
            }
            #expect(code == 401)
            #expect(try refusal.body.json.error.code == "unauthorized")
        }
    }

    @Test("A JSON body goes out and a query parameter is read: POST /v1/classify, GET /v1/events?limit=1")
    func bodyAndQuery() async throws {
        try await RealAgent.with(token: "transport-token") { address in
            let client = Client(
                serverURL: try #require(URL(string: "http://\(address)")),
                transport: AgentCurlTransport(curl: try CurlClient(), bearerToken: "transport-token"))
            let classified = try await client.classifyLines(
                body: .json(.init(lines: ["ModuleNotFoundError: No module named 'torch'"]))
            ).ok.body.json
            #expect(classified.results.first?.category == "DEPENDENCY_MISSING")
            let events = try await client.listEvents(query: .init(limit: 1)).ok.body.json
            #expect(events.events.count == 1)
            #expect(events.events.first?.kind == AgentEventKind.agentStarted)
        }
    }
}

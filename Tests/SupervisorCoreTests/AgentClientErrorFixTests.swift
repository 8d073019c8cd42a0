import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
import Foundation
import SupervisorCore
import Testing

@Suite("Error fixes through AgentClient against a real agent", .timeLimit(.minutes(3)))
struct AgentClientErrorFixTests {
    @Test("recordErrorFix stores a fix (retrying while the memory store opens); a bad body is a 400 naming the field")
    func recordFix() async throws {
        let curl = try CurlClient()
        try await RealAgent.with(token: "fix-token") { address in
            let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })
            let client = AgentClient(
                address: "127.0.0.1", port: port, token: "fix-token", timeout: .seconds(60), curl: curl)
            let request = ErrorFixRequest(
                fix: "pip install torch", line: "ModuleNotFoundError: No module named 'torch'", tags: ["python"])
            let deadline = ContinuousClock.now + .seconds(120)
            var recorded: ErrorFix?
            while recorded == nil {
                do throws(CurlError) {
                    recorded = try await client.call {
                        try await $0.recordErrorFix(body: .json(request)).created.body.json
                    }.fix
                } catch {
                    try #require(error.status == 503 && ContinuousClock.now < deadline, "\(error)")
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            let fix = try #require(recorded)
            #expect(fix.match == .template)
            #expect(fix.fix == "pip install torch")
            #expect(!fix.memoryID.isEmpty)

            do throws(CurlError) {
                let bad = ErrorFixRequest(fix: "pip install torch")
                _ = try await client.call { try await $0.recordErrorFix(body: .json(bad)).created.body.json }
                Issue.record("a fix without template or line was accepted")
            } catch {
                #expect(error.status == 400)
                let detail = try JSONDecoder().decode(APIErrorBody.self, from: Data(error.body)).error
                #expect(detail.code == "bad_request")
                #expect(detail.message.hasPrefix("template: give exactly one of template or line"))
            }
            let errors = try await client.call { try await $0.listErrors().ok.body.json }
            #expect(errors.errors.allSatisfy { $0.fixes.count <= 3 })
        }
    }
}

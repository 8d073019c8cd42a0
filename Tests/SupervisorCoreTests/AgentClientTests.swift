import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
import Foundation
import SupervisorCore
import Testing

@Suite("AgentClient through the generated client against a real agent", .timeLimit(.minutes(3)))
struct AgentClientTests {
    static let curl: CurlClient? = try? CurlClient()

    /// A client of the agent at `address` (`host:port` or `[v6]:port`) with a deadline long enough for its first
    /// status request, which hashes the whole test binary.
    private func client(_ address: String, token: String) throws -> AgentClient {
        let (host, port) = try #require(
            address.lastIndex(of: ":").map {
                (
                    address[..<$0].trimmingCharacters(in: CharacterSet(charactersIn: "[]")),
                    Int(address[$0...].dropFirst())
                )
            })
        return AgentClient(
            address: host, port: try #require(port), token: token, timeout: .seconds(60), curl: try #require(Self.curl))
    }

    @Test("a refused request keeps the agent's status and error body in the CurlError: a wrong token is a 401")
    func errorStatusKeepsBody() async throws {
        try await RealAgent.with(token: "right-token") { address in
            let wrong = try client(address, token: "wrong-token")
            do throws(CurlError) {
                _ = try await wrong.call { try await $0.getStatus().ok.body.json }
                Issue.record("a wrong token was answered with a success")
            } catch {
                #expect(error.code == .httpStatus)
                #expect(error.status == 401)
                #expect(error.method == "GET")
                #expect(error.url.hasSuffix(":\(address.split(separator: ":").last ?? "")/v1/status"))
                let body = try #require(error.decodeBody(as: APIErrorBody.self))
                #expect(body.error.code == "unauthorized")
                #expect(AgentClient.message(of: error) == "unauthorized: \(body.error.message)")
            }
            #expect(await wrong.probe(vm: "wrong").reason == .authRejected)
        }
    }

    @Test("a query value reaches the agent exactly as given, percent-encoded; a bad one is a 400 naming it")
    func queryEncoding() async throws {
        try await RealAgent.with(token: "query-token") { address in
            let agent = try client(address, token: "query-token")
            let listed = try await agent.call {
                try await $0.listErrors(
                    query: .init(since: "2026-01-02T03:04:05Z", category: "network_failure", limit: 5)
                )
                .ok.body.json
            }
            #expect(listed.errors.allSatisfy { $0.classification.category == "NETWORK_FAILURE" })
            let odd = "a b&c=d+e/f?g#h%20é"
            do throws(CurlError) {
                _ = try await agent.call { try await $0.listErrors(query: .init(since: odd)).ok.body.json }
                Issue.record("since '\(odd)' was accepted")
            } catch {
                #expect(error.status == 400)
                let message = try #require(error.decodeBody(as: APIErrorBody.self)).error.message
                #expect(message.hasPrefix("since: "))
                #expect(message.hasSuffix("not '\(odd)'"))
            }
        }
    }

    @Test("an agent on an IPv6 address is reached through a bracketed base URL")
    func ipv6() async throws {
        try await RealAgent.with(token: "v6-token", host: "::1") { address in
            #expect(address.hasPrefix("[::1]:"))
            let agent = try client(address, token: "v6-token")
            #expect(agent.baseURL.hasPrefix("http://[::1]:"))
            let status = try await agent.call { try await $0.getStatus().ok.body.json }
            #expect(status.protocolVersion == AgentProtocol.protocolVersion)
            #expect(await agent.probe(vm: "v6").state == .healthy)
        }
    }

    @Test("a status the caller passes is read as an answer (readiness's 503), any other one is thrown with its body")
    func passedStatus() async throws {
        let body = #"{"status":"not_ready","checks":[{"name":"monitor_ticked","ok":false,"detail":"not yet"}]}"#
        let server = try CannedServer(
            response: "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body)
        defer { server.stop() }
        let agent = try client("127.0.0.1:\(server.port)", token: "t")
        let answer = try await agent.call(passing: [503]) { try await $0.getReadiness() }
        guard case .serviceUnavailable(let notReady) = answer else {
            Issue.record("503 was not read as the documented not-ready answer: \(answer)")
            return
        }
        #expect(try notReady.body.json.checks.map(\.name) == ["monitor_ticked"])
        do throws(CurlError) {
            _ = try await agent.call { try await $0.getReadiness() }
            Issue.record("a 503 nobody passed was read as an answer")
        } catch {
            #expect(error.code == .httpStatus)
            #expect(error.status == 503)
            #expect(error.bodyText == body)
        }
    }

    @Test("a 2xx answer that is not the documented body is an undecodable body, its status and bytes kept")
    func undecodable() async throws {
        let server = try CannedServer(
            response: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n"
                + "Connection: close\r\n\r\nnot json")
        defer { server.stop() }
        let agent = try client("127.0.0.1:\(server.port)", token: "t")
        do throws(CurlError) {
            _ = try await agent.call { try await $0.getStatus().ok.body.json }
            Issue.record("'not json' was decoded as a status")
        } catch {
            #expect(error.code == .undecodableBody)
            #expect(error.status == 200)
            #expect(error.bodyText == "not json")
            #expect(error.url == "http://127.0.0.1:\(server.port)/v1/status")
            #expect(error.message.hasPrefix("response body is not a valid StatusResponse"))
        }
        #expect(await agent.probe(vm: "garbled").reason == .versionMismatch)
    }
}

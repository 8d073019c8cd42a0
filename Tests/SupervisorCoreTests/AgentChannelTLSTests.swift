import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
import Foundation
import SupervisorCore
import Testing

/// The host ↔ agent channel: mutual TLS with both keys pinned, plus the bearer token, against a real agent server.
@Suite("Agent channel: mutual TLS with pinned keys", .serialized)
struct AgentChannelTLSTests {
    static let curl: CurlClient? = try? CurlClient()

    /// A started test-driver VM with its credentials made, a real agent serving them, and the connector.
    private func withTLSAgent(
        _ body: @Sendable (TestHost, String, AgentCredentials, AgentConnector, String) async throws -> Void
    ) async throws {
        let host = try await TestHost.make(agentRequestTimeout: .seconds(30))
        defer { host.cleanUp() }
        let vm = uniqueName("tls")
        _ = try await host.manager.create(name: vm)
        try await host.manager.start(name: vm)
        let credentials = try AgentCredentials.ensure(layout: host.manager.layout, vm: vm)
        let connector = try AgentConnector(manager: host.manager, curl: try #require(Self.curl))
        try await RealAgent.with(token: credentials.token, tlsFiles: credentials.guestTLSFiles) { address in
            var record = try host.manager.record(vm)
            record.address = address
            try host.manager.inventory.update(record)
            // The agent's first /v1/status hashes its own executable, here the whole test binary: on a loaded
            // machine longer than the connector's deadline. Wait until it has answered once.
            let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })
            let warmUp = AgentClient(
                address: "127.0.0.1", port: port, token: credentials.token, tls: credentials.tls,
                timeout: .seconds(60), curl: connector.curl)
            _ = try await warmUp.call { try await $0.getStatus().ok.body.json }
            try await body(host, vm, credentials, connector, address)
        }
    }

    @Test("the connector reaches a VM's agent over https with its key pinned and the host's certificate")
    func pinnedRoundTrip() async throws {
        try await withTLSAgent { host, vm, credentials, connector, _ in
            let client = try connector.client(for: try host.manager.record(vm))
            #expect(client.baseURL.hasPrefix("https://127.0.0.1:"))
            #expect(client.tls?.pinnedPublicKey == credentials.agentPin)
            let status = try await client.call { try await $0.getStatus().ok.body.json }
            #expect(status.protocolVersion == AgentProtocol.protocolVersion)
            #expect(await client.probe(vm: vm).state == .healthy)
            // The token stays a second factor: the right certificates with a wrong token get 401.
            let wrongToken = AgentClient(
                address: "127.0.0.1", port: try port(of: client), token: "wrong", tls: credentials.tls,
                timeout: .seconds(10), curl: connector.curl)
            #expect(await wrongToken.probe(vm: vm).reason == .authRejected)
        }
    }

    @Test("plain HTTP, no client certificate and another host's certificate are all refused before any request")
    func clientsRefused() async throws {
        try await withTLSAgent { host, vm, credentials, connector, address in
            let curl = connector.curl
            let url = "https://\(address)\(AgentRoute.status)"
            // Plain HTTP to the TLS listener: no HTTP answer at all.
            let plain = try? await curl.perform(
                CurlRequest(url: "http://\(address)\(AgentRoute.status)", bearerToken: credentials.token))
            #expect(plain == nil || plain?.status == 0)
            // The agent's key pinned, but no client certificate: the handshake fails.
            await #expect(throws: CurlError.self) {
                _ = try await curl.perform(
                    CurlRequest(
                        url: url, bearerToken: credentials.token,
                        tls: CurlTLS(pinnedPublicKey: credentials.agentPin)))
            }
            // Another supervisor's client certificate (its own state directory): refused too.
            let other = try await TestHost.make()
            defer { other.cleanUp() }
            let strangerVM = uniqueName("tls")
            _ = try await other.manager.create(name: strangerVM)
            let stranger = try AgentCredentials.ensure(layout: other.manager.layout, vm: strangerVM)
            #expect(stranger.hostCertificate != credentials.hostCertificate)
            let error = await #expect(throws: CurlError.self) {
                _ = try await curl.perform(
                    CurlRequest(
                        url: url, bearerToken: credentials.token,
                        tls: CurlTLS(
                            pinnedPublicKey: credentials.agentPin,
                            clientCertificateFile: other.manager.layout.hostCertificatePath,
                            clientKeyFile: other.manager.layout.hostKeyPath)))
            }
            #expect(error?.code == .transport)
        }
    }

    @Test("an agent with another key is refused, naming the pinned key and the one presented")
    func wrongServerKey() async throws {
        try await withTLSAgent { host, vm, credentials, connector, address in
            // A second VM of the same host points at the first VM's agent: its pin is not that agent's key.
            let impostor = uniqueName("tls")
            _ = try await host.manager.create(name: impostor)
            try await host.manager.start(name: impostor)
            let expected = try AgentCredentials.ensure(layout: host.manager.layout, vm: impostor)
            #expect(expected.agentPin != credentials.agentPin)
            var record = try host.manager.record(impostor)
            record.address = address
            try host.manager.inventory.update(record)

            let client = try connector.client(for: record)
            let health = await client.probe(vm: impostor)
            #expect(health.state == .unreachable)
            #expect(health.reason == .authRejected)
            let detail = health.detail ?? ""
            #expect(detail.contains(expected.agentPin), "\(detail)")
            #expect(detail.contains(credentials.agentPin), "\(detail)")
        }
    }

    @Test("IPv6 addresses, with and without a port, make bracketed URLs")
    func ipv6Addresses() async throws {
        let host = try await TestHost.make(agentRequestTimeout: .seconds(30))
        defer { host.cleanUp() }
        let vm = uniqueName("v6")
        _ = try await host.manager.create(name: vm)
        let connector = try AgentConnector(manager: host.manager, curl: try #require(Self.curl))
        let record = try host.manager.record(vm)
        #expect(try connector.client(for: record, address: "fd00::5").baseURL == "http://[fd00::5]:9901")
        #expect(try connector.client(for: record, address: "[::1]:8080").baseURL == "http://[::1]:8080")
        #expect(try connector.client(for: record, address: "10.0.0.5:81").baseURL == "http://10.0.0.5:81")
        #expect(try connector.client(for: record, address: "10.0.0.5").baseURL == "http://10.0.0.5:9901")
        _ = try AgentCredentials.ensure(layout: host.manager.layout, vm: vm)
        #expect(try connector.client(for: record, address: "fd00::5").baseURL == "https://[fd00::5]:9901")
    }

    private func port(of client: AgentClient) throws -> Int {
        try #require(client.baseURL.split(separator: ":").last.flatMap { Int($0) })
    }
}

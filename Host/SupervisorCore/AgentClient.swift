public import AgentAPI
public import AgentAPIClient
import AgentAPIGenerated
public import Curl
import Foundation
import HTTPTypes
import OpenAPIRuntime

/// Talks to one VM's agent through the client generated from the agent's OpenAPI document
/// (``call(timeout:passing:_:)``), carried by libcurl with the VM's bearer token and a per-request deadline, over
/// mutual TLS with the agent's key pinned when the VM has one. ``AgentConnector`` makes them.
public struct AgentClient: Sendable {
    /// The agent's base URL, such as `https://192.168.213.10:9901`.
    public let baseURL: String
    /// The VM's agent token.
    public let token: String?
    /// The pinned key and client certificate, or `nil` for plain HTTP.
    public let tls: CurlTLS?
    /// The deadline for each request.
    public let timeout: Duration
    private(set) var curl: CurlClient

    /// Creates a client.
    /// - Parameters:
    ///   - address: The guest's IP address.
    ///   - port: The agent's TCP port.
    ///   - token: The bearer token.
    ///   - tls: The agent's pinned key and the client certificate (`https`), or `nil` (`http`).
    ///   - timeout: The per-request deadline.
    ///   - curl: The shared curl client.
    public init(
        address: String, port: Int = AgentProtocol.defaultPort, token: String?, tls: CurlTLS? = nil,
        timeout: Duration, curl: CurlClient
    ) {
        let host = address.contains(":") ? "[\(address)]" : address
        self.baseURL = "\(tls == nil ? "http" : "https")://\(host):\(port)"
        self.token = token
        self.tls = tls
        self.timeout = timeout
        self.curl = curl
    }

    /// The same client on a new curl client, so that none of the connections the old one keeps is reused.
    ///
    /// After a snapshot revert the guest's TCP state is the snapshot's: a connection that carried requests after
    /// the snapshot was taken is one whose next request the guest never acknowledges, and it hangs until the
    /// deadline.
    /// - Throws: ``SupervisorError/Code/agent`` when libcurl cannot be initialised.
    public func withNewConnections() throws(SupervisorError) -> AgentClient {
        var copy = self
        copy.curl = try AgentConnector.makeCurl()
        return copy
    }

    /// Sends one request through the generated client (`AgentAPIClient.Client`) and returns what `operation` reads
    /// from its answer, with every failure as a ``CurlError``:
    ///
    /// ```swift
    /// let status = try await agent.call { try await $0.getStatus().ok.body.json }
    /// ```
    /// - Parameters:
    ///   - timeout: The request's deadline; ``timeout`` when `nil`.
    ///   - passing: Statuses outside 200...299 that `operation` reads as answers, such as readiness's 503.
    ///   - operation: Calls one operation of the client and reads its documented answer.
    /// - Returns: What `operation` returns.
    /// - Throws: ``CurlError``: a transport failure or timeout; ``CurlError/Code/httpStatus`` with the status and
    ///   the agent's error body for any other status outside 200...299; ``CurlError/Code/undecodableBody`` when
    ///   the answer is not the documented one; ``CurlError/Code/invalidRequest`` when the request cannot be made.
    public func call<Answer>(
        timeout: Duration? = nil, passing: Set<Int> = [], _ operation: (Client) async throws -> Answer
    ) async throws(CurlError) -> Answer {
        guard let serverURL = URL(string: baseURL) else {
            throw CurlError(code: .invalidRequest, message: "not a URL: \(baseURL)", method: "", url: baseURL)
        }
        let deadline = timeout ?? self.timeout
        let transport = AgentCurlTransport(
            curl: curl, bearerToken: token, connectTimeout: min(deadline, .seconds(2)), timeout: deadline, tls: tls,
            passedErrorStatuses: passing)
        do {
            return try await operation(Client(serverURL: serverURL, transport: transport))
        } catch let error as ClientError {
            if let failure = error.underlyingError as? CurlError {
                throw failure
            }
            let method = error.request?.method.rawValue ?? ""
            let url = baseURL + (error.request?.path ?? "")
            guard let response = error.response else {
                throw CurlError(
                    code: .invalidRequest, message: "cannot make the request: \(error.underlyingError)", method: method,
                    url: url, cause: error.underlyingError)
            }
            var body: [UInt8] = []
            if let responseBody = error.responseBody {
                body = (try? await [UInt8](collecting: responseBody, upTo: .max)) ?? []
            }
            throw CurlError(
                code: .undecodableBody,
                message: "response body is not a valid \(Answer.self): \(error.underlyingError)",
                method: method, url: url, status: response.status.code, body: body, cause: error.underlyingError)
        } catch {
            throw CurlError(
                code: .undecodableBody, message: "not the documented answer: \(error)", method: "", url: baseURL,
                cause: error)
        }
    }

    /// `GET /v1/health/ready`; a 503 answer is read too, since it lists the failing checks.
    private func ready() async throws(CurlError) -> ReadyResponse {
        try await call(passing: [503]) { client in
            let answer = try await client.getReadiness()
            if case .serviceUnavailable(let notReady) = answer {
                return try notReady.body.json
            }
            return try answer.ok.body.json
        }
    }

    /// Polls the agent once and classifies the answer as the poller's health states.
    /// - Parameter vm: The VM's name, copied into the result.
    public func probe(vm: String) async -> AgentHealth {
        let status: StatusResponse
        do {
            status = try await call { try await $0.getStatus().ok.body.json }
        } catch {
            return AgentClient.unreachable(vm: vm, error: error)
        }
        guard status.protocolVersion == AgentProtocol.protocolVersion else {
            return AgentHealth(
                vm: vm, state: .unreachable, reason: .versionMismatch,
                detail: "agent speaks protocol \(status.protocolVersion), supervisor \(AgentProtocol.protocolVersion)",
                agentVersion: status.agentVersion)
        }
        do {
            let ready = try await self.ready()
            if ready.ready {
                return AgentHealth(vm: vm, state: .healthy, agentVersion: status.agentVersion)
            }
            let failing = ready.checks.filter { !$0.ok }.map { check in
                check.detail.map { "\(check.name): \($0)" } ?? check.name
            }
            return AgentHealth(
                vm: vm, state: .degraded, detail: failing.joined(separator: "; "), agentVersion: status.agentVersion)
        } catch {
            return AgentClient.unreachable(vm: vm, error: error)
        }
    }

    /// Maps a curl failure to an unreachable health state with its reason.
    static func unreachable(vm: String, error: CurlError) -> AgentHealth {
        let reason: AgentHealth.Reason
        switch error.code {
        case .timeout:
            reason = .timeout
        case .transport where error.curlCode == 7:
            reason = .refused
        case .httpStatus where error.status == 401 || error.status == 403:
            reason = .authRejected
        case .transport where error.peerCertificate != nil:
            // Another key answered: not this VM's agent.
            reason = .authRejected
        case .undecodableBody:
            reason = .versionMismatch
        default:
            reason = .error
        }
        return AgentHealth(vm: vm, state: .unreachable, reason: reason, detail: message(of: error))
    }
}

extension AgentClient {
    /// Polls `/v1/stats` until the guest sees the profile's vCPUs online and at least 85 % of its memory
    /// (the kernel keeps some for itself).
    /// - Returns: The last stats seen, confirming the profile.
    /// - Throws: ``SupervisorError/Code/timeout`` with what the guest last reported.
    public func confirm(_ profile: ResourceProfile, deadline: Duration) async throws(SupervisorError) -> StatsResponse {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        var last: StatsResponse?
        var lastError: CurlError?
        while clock.now < end {
            do {
                let stats = try await call { try await $0.getStats().ok.body.json }
                last = stats
                let memoryMiB = Int(stats.memoryTotalBytes / 1_048_576)
                if stats.cpuCount == profile.vcpus && memoryMiB * 100 >= profile.memoryMiB * 85 {
                    return stats
                }
            } catch {
                lastError = error
            }
            try? await Task.sleep(for: .seconds(1))
        }
        let seen = last.map { "\($0.cpuCount) vCPUs and \($0.memoryTotalBytes / 1_048_576) MiB online" } ?? "no answer"
        throw SupervisorError(
            .timeout,
            "the guest did not confirm profile '\(profile.name)' (\(profile.vcpus) vCPUs, \(profile.memoryMiB) MiB) "
                + "within \(deadline): \(seen)", cause: lastError)
    }
}

extension AgentClient {
    /// The deadline of a freeze or a thaw (`POST /v1/fs/freeze`, `/v1/fs/thaw`): a freeze syncs every filesystem
    /// first, which takes seconds on a busy guest, and a thaw may wait for a freeze still in progress.
    public static let filesystemDeadline: Duration = .seconds(30)

    /// The agent's own error message from a failed call, or the transport's when there is no agent answer; a
    /// server whose key is not the pinned one is named by the key it presented.
    public static func message(of error: CurlError) -> String {
        if let body = error.decodeBody(as: APIErrorBody.self) {
            return "\(body.error.code): \(body.error.message)"
        }
        if let certificate = error.peerCertificate,
            let presented = try? AgentCredentials.pin(ofCertificate: certificate, source: error.url)
        {
            return error.message + "; the server presented \(presented), so it is not this VM's agent"
        }
        return error.message
    }
}

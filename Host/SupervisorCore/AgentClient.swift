public import AgentAPI
public import Curl
public import Foundation

/// Talks to one VM's agent over HTTP through libcurl, with the VM's bearer token and a per-request deadline, over
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

    func request(_ method: CurlMethod = .get, _ path: String, timeout: Duration? = nil) -> CurlRequest {
        let deadline = timeout ?? self.timeout
        return CurlRequest(
            method: method, url: baseURL + path, bearerToken: token, connectTimeout: min(deadline, .seconds(2)),
            timeout: deadline, tls: tls)
    }

    /// `GET /v1/status`.
    public func status() async throws(CurlError) -> StatusResponse {
        try await curl.get(request(.get, AgentRoute.status))
    }

    /// `GET /v1/health/ready`; a 503 answer is decoded too, since it lists the failing checks.
    public func ready() async throws(CurlError) -> ReadyResponse {
        let request = request(.get, AgentRoute.healthReady)
        let response = try await curl.perform(request)
        guard response.isSuccess || response.status == 503 else {
            throw CurlError(
                code: .httpStatus, message: "unexpected status \(response.status)", method: "GET",
                url: request.url, status: response.status, body: response.body)
        }
        return try response.decodeBody(as: ReadyResponse.self, method: request.method, url: request.url)
    }

    /// Polls the agent once and classifies the answer as the poller's health states.
    /// - Parameter vm: The VM's name, copied into the result.
    public func probe(vm: String) async -> AgentHealth {
        let status: StatusResponse
        do {
            status = try await self.status()
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
    /// `POST /v1/exec`: starts a job in the guest.
    public func startExec(_ request: ExecRequest) async throws(CurlError) -> JobStartResponse {
        try await curl.send(self.request(.post, AgentRoute.exec), body: request)
    }

    /// `GET /v1/exec/{id}`: a job's state and captured output.
    public func execJob(id: String) async throws(CurlError) -> ExecJobResponse {
        try await curl.get(request(.get, AgentRoute.exec + "/" + id))
    }

    /// `GET /v1/exec/{id}/output`: output of one stream from `offset` on, waiting up to `waitMilliseconds` for
    /// some to arrive.
    public func execOutput(
        id: String, stream: ExecOutputStream, offset: Int, waitMilliseconds: Int
    ) async throws(CurlError) -> ExecOutputResponse {
        let path =
            "\(AgentRoute.exec)/\(id)/output?stream=\(stream.rawValue)&offset=\(offset)&wait_ms=\(waitMilliseconds)"
        return try await curl.get(
            request(.get, path, timeout: timeout + .milliseconds(waitMilliseconds)))
    }
}

extension AgentClient {
    /// `GET /v1/stats`.
    public func stats() async throws(CurlError) -> StatsResponse {
        try await curl.get(request(.get, AgentRoute.stats))
    }

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
                let stats = try await self.stats()
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
    /// `POST /v1/fs/freeze`: freezes the guest's filesystems; the agent thaws them on its own after
    /// `timeoutSeconds`.
    /// - Parameters:
    ///   - timeoutSeconds: How long the agent keeps them frozen at most.
    ///   - deadline: The request's deadline: a freeze syncs every filesystem first, which takes seconds on a
    ///     busy guest, longer than an ordinary request.
    public func freeze(timeoutSeconds: Int, deadline: Duration = .seconds(30)) async throws(CurlError)
        -> FreezeResponse
    {
        try await curl.send(
            request(.post, AgentRoute.fsFreeze, timeout: deadline), body: FreezeRequest(timeoutSeconds: timeoutSeconds))
    }

    /// `POST /v1/fs/thaw`: thaws what a freeze froze; nothing frozen is not an error.
    /// - Parameter deadline: The request's deadline (a thaw may wait for a freeze still in progress).
    public func thaw(deadline: Duration = .seconds(30)) async throws(CurlError) -> ThawResponse {
        try await curl.send(request(.post, AgentRoute.fsThaw, timeout: deadline), body: [String: String]())
    }

    /// `POST /v1/time`: gives the agent the host's clock, which it applies when the drift exceeds 100 ms.
    /// - Parameter now: The host's time; defaults to now.
    public func pushTime(_ now: Date = Date()) async throws(CurlError) -> TimeSyncResponse {
        let nanoseconds = Int(now.timeIntervalSince1970 * 1_000_000_000)
        return try await curl.send(
            request(.post, AgentRoute.time), body: TimeSyncRequest(unixNanoseconds: nanoseconds))
    }

    /// `POST /v1/soft-reboot`: restarts the given units (every monitored one when `nil`) and reports whether
    /// each came back.
    /// - Parameters:
    ///   - units: The units to restart.
    ///   - timeout: The request's deadline; restarts take longer than an ordinary request.
    public func softReboot(units: [String]?, timeout: Duration = .seconds(120)) async throws(CurlError)
        -> SoftRebootResponse
    {
        try await curl.send(
            request(.post, AgentRoute.softReboot, timeout: timeout), body: SoftRebootRequest(units: units))
    }

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

public import AgentAPI
public import Curl

extension AgentClient {
    /// `GET /v1/packs`: the agent's known packs and its recorded installs.
    /// - Returns: The agent's answer.
    /// - Throws: ``CurlError`` telling transport failure, HTTP status with body and undecodable body apart.
    public func packs() async throws(CurlError) -> PacksResponse {
        try await curl.get(request(.get, AgentRoute.packs))
    }

    /// `POST /v1/packs/{name}/install`: starts installing a pack; the agent answers 202 with the job's id.
    /// - Parameters:
    ///   - name: The pack's name (equal to the manifest's).
    ///   - request: The manifest to install and the host cache's URL.
    /// - Returns: The job's id.
    /// - Throws: ``CurlError``.
    public func startPackInstall(
        name: String, _ request: PackInstallRequest
    ) async throws(CurlError) -> JobStartResponse {
        try await curl.send(self.request(.post, AgentRoute.packInstall(name)), body: request)
    }

    /// `GET /v1/packs/jobs/{id}?offset=N`: a pack job's progress with its log lines from line `offset` on.
    /// - Parameters:
    ///   - id: The job's id.
    ///   - offset: The first log line wanted.
    /// - Returns: The job's state.
    /// - Throws: ``CurlError``.
    public func packJob(id: String, offset: Int) async throws(CurlError) -> PackJobResponse {
        try await curl.get(request(.get, AgentRoute.packJob(id) + "?offset=\(offset)"))
    }
}

public import AgentAPI
import Curl
import Foundation
public import Logging
public import SSH

/// Pushes the agent into a VM over SSH and waits until it answers ready through curl.
///
/// The supervisor's own key pair lives in the state directory; each VM's host keys are pinned from its
/// serial console before the first connection (``HostKeyPin``), never trusted on first use, and a different
/// key is refused naming both fingerprints. The binary is uploaded by SFTP to a staging name, its sha256 is
/// checked in the guest, and only then is it renamed into place. The VM's ``AgentCredentials`` (token, the agent's
/// key pair, the supervisor's client certificate; made once for the VM's life) go into the guest's `/etc/somnus`,
/// private to root, and the agent's TCP listener then speaks mutual TLS.
public struct AgentDeployer: Sendable {
    /// Where the agent binary goes in the guest.
    public static let remoteBinary = "/usr/local/bin/somnus-agent"
    /// Where the agent's token goes in the guest.
    public static let remoteToken = "/etc/somnus/agent.token"

    let manager: VMManager
    let connector: AgentConnector
    let logger: Logger
    /// The TCP port of the guests' sshd; tests point it at a loopback sshd.
    public var sshPort = 22

    /// Creates a deployer.
    public init(manager: VMManager, connector: AgentConnector, logger: Logger) {
        self.manager = manager
        self.connector = connector
        self.logger = logger
    }

    /// The supervisor's key pair, created at first use.
    public func ensureKeyPair() throws(SupervisorError) -> SSHKeyPair {
        try AgentDeployer.ensureKeyPair(layout: manager.layout)
    }

    /// The supervisor's key pair in a state directory, created at first use.
    public static func ensureKeyPair(layout: StateLayout) throws(SupervisorError) -> SSHKeyPair {
        let path = layout.sshKeyPath
        if FileManager.default.fileExists(atPath: path) {
            return SSHKeyPair(privateKeyPath: path)
        }
        try HostFiles.privateDirectory((path as NSString).deletingLastPathComponent, qemuTraversable: false)
        do {
            return try SSHKeyPair.generate(at: path)
        } catch {
            throw SupervisorError(.ssh, "cannot create the supervisor's SSH key at \(path)", cause: error)
        }
    }

    func sessionConfiguration(record: VMRecord, address: String, keyPair: SSHKeyPair) -> SSHSessionConfiguration {
        SSHSessionConfiguration(
            host: address, port: sshPort, user: "root", privateKeyPath: keyPair.privateKeyPath,
            knownHosts: SSHKnownHosts(path: manager.layout.knownHostsPath(record.domain), policy: .strict),
            connectTimeout: .seconds(5), operationTimeout: .seconds(120))
    }

    /// The VM's pinned host keys for `address`, pinned from its console log at first use.
    /// - Returns: `nil` while the console shows no key yet.
    func prepareHostKeyPin(vm: String, address: String) throws(SupervisorError) -> HostKeyPin? {
        let record = try manager.record(vm)
        return try HostKeyPin.prepare(
            knownHostsPath: manager.layout.knownHostsPath(record.domain), consoleLogPath: record.consoleLogPath,
            host: address,
            port: sshPort)
    }

    /// Connects to the VM's sshd, retrying while it boots: first until its console log shows its host keys
    /// (pinned then), then until sshd answers with a pinned key.
    /// - Throws: ``SupervisorError/Code/ssh`` at once for a host key that is not pinned (naming both
    ///   fingerprints) or a refused login, and ``SupervisorError/Code/timeout`` when the keys never appear on
    ///   the console or sshd never answers within `deadline`.
    public func waitForSSH(vm: String, address: String, deadline: Duration) async throws(SupervisorError)
        -> SSHSession
    {
        let keyPair = try ensureKeyPair()
        let configuration = sessionConfiguration(record: try manager.record(vm), address: address, keyPair: keyPair)
        let clock = ContinuousClock()
        let end = clock.now + deadline
        var lastError: (any Error)?
        while clock.now < end {
            guard try prepareHostKeyPin(vm: vm, address: address) != nil else {
                lastError = SupervisorError(
                    .timeout,
                    "the console log \((try? manager.record(vm).consoleLogPath) ?? "?") shows no "
                        + "\(HostKeyPin.consoleMarker) line yet")
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            do {
                return try await SSHSession.connect(configuration)
            } catch {
                switch error.kind {
                case .hostKeyMismatch, .hostKeyUnknown, .authenticationFailed, .privateKey, .knownHostsFile:
                    throw SupervisorError(.ssh, "cannot log in to '\(vm)' at \(address)", cause: error)
                default:
                    lastError = error
                }
            }
            try? await Task.sleep(for: .seconds(1))
        }
        throw SupervisorError(
            .timeout, "sshd of '\(vm)' at \(address) did not answer within \(deadline)", cause: lastError)
    }

    /// Deploys the agent and waits until it is ready.
    /// - Parameters:
    ///   - vm: The VM's name.
    ///   - address: The guest's address.
    ///   - agentBinary: The statically linked `somnus-agent` to push.
    ///   - readyDeadline: How long to wait for `/v1/health/ready` after the unit starts.
    /// - Returns: The agent's status as it reported it once ready.
    public func deploy(
        vm: String, address: String, agentBinary: String, sshDeadline: Duration = .seconds(300),
        readyDeadline: Duration = .seconds(120)
    ) async throws(SupervisorError) -> StatusResponse {
        var record = try manager.record(vm)
        let localSHA = try await AgentDeployer.sha256(of: agentBinary)
        let session = try await waitForSSH(vm: vm, address: address, deadline: sshDeadline)
        defer { session.close() }
        let credentials = try AgentCredentials.ensure(layout: manager.layout, vm: try manager.record(vm).domain)
        try await install(agentBinary, sha256: localSHA, to: AgentDeployer.remoteBinary, session: session, vm: vm)
        do {
            _ = try await checked(session, "install -d -m 0700 /etc/somnus")
            try await session.upload(Array(credentials.token.utf8), to: AgentDeployer.remoteToken, mode: 0o600)
            try await uploadTLS(credentials, session: session, vm: vm)
            _ = try await checked(session, "\(AgentDeployer.remoteBinary) install")
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError(.ssh, "cannot deploy the agent to '\(vm)'", cause: error)
        }
        try await installPackCacheKey(session: session, vm: vm)
        logger.info("agent installed", metadata: ["vm.name": "\(vm)", "agent.sha256": "\(localSHA)"])
        record.address = address
        let status = try await waitForReady(record: record, deadline: readyDeadline)
        record.agentVersion = status.agentVersion
        record.agentSHA256 = localSHA
        try manager.inventory.update(record)
        return status
    }

    /// Uploads a file by SFTP to a hidden staging name beside `remotePath`, checks its sha256 in the guest and
    /// only then renames it into place, so a partial upload never replaces a working file.
    /// - Parameters:
    ///   - localPath: The file to upload.
    ///   - sha256: Its expected hex sha256.
    ///   - remotePath: Where it ends up.
    ///   - session: An open session.
    ///   - vm: The VM's name, for errors.
    /// - Throws: ``SupervisorError/Code/ssh`` naming both checksums when the upload is corrupt, or with the
    ///   failing step's message.
    public func install(
        _ localPath: String, sha256: String, to remotePath: String, session: SSHSession, vm: String
    ) async throws(SupervisorError) {
        let directory = (remotePath as NSString).deletingLastPathComponent
        let staged = directory + "/." + (remotePath as NSString).lastPathComponent + ".staged"
        do {
            try await session.upload(contentsOf: localPath, to: staged, mode: 0o755)
            let remoteSHA = try await checked(session, "sha256sum \(staged)").split(separator: " ").first
                .map(String.init)
            guard remoteSHA == sha256 else {
                _ = try? await checked(session, "rm -f \(staged)")
                throw SupervisorError(
                    .ssh,
                    "upload of \(localPath) to '\(vm)' is corrupt: sha256 \(remoteSHA ?? "?") in the guest, "
                        + "\(sha256) here")
            }
            _ = try await checked(session, "mv -f \(staged) \(remotePath)")
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError(.ssh, "cannot upload \(localPath) to '\(vm)'", cause: error)
        }
    }

    /// The hex sha256 of a local file.
    public static func sha256(of path: String) async throws(SupervisorError) -> String {
        try await BlockingExecutor.run { () throws(SupervisorError) in
            do {
                return try FileSHA256.hex(ofFile: path)
            } catch {
                throw SupervisorError(.hostCommand, "cannot read the sha256 of \(path)", cause: error)
            }
        }
    }

    /// Deploys the agent unless the one running already is the binary at hand.
    ///
    /// The running agent is asked for its status with the VM's token; when it answers with the same sha256
    /// and protocol version and is healthy, nothing is uploaded and the inventory is refreshed. Otherwise, or
    /// with `force`, it is (re)deployed.
    /// - Parameters:
    ///   - vm: The VM's name.
    ///   - address: The guest's address.
    ///   - agentBinary: The statically linked `somnus-agent` at hand.
    ///   - force: Deploys even when the running agent matches.
    ///   - sshDeadline: How long to wait for sshd.
    ///   - readyDeadline: How long to wait for `/v1/health/ready` after the unit starts.
    /// - Returns: The agent's status and whether it was uploaded, with the reason.
    public func ensureDeployed(
        vm: String, address: String, agentBinary: String, force: Bool = false,
        sshDeadline: Duration = .seconds(300), readyDeadline: Duration = .seconds(120)
    ) async throws(SupervisorError) -> AgentDeployOutcome {
        var record = try manager.record(vm)
        let localSHA = try await AgentDeployer.sha256(of: agentBinary)
        let reason: String
        if force {
            reason = "forced"
        } else {
            let client = try connector.client(for: record, address: address)
            let answer: Result<StatusResponse, CurlError>
            do {
                answer = .success(try await client.status())
            } catch {
                answer = .failure(error)
            }
            switch answer {
            case .failure(let error):
                reason = "no agent answered (\(error.message))"
            case .success(let running)
            where running.binarySHA256 == localSHA && running.protocolVersion == AgentProtocol.protocolVersion:
                let health = await client.probe(vm: vm)
                guard health.state != .healthy else {
                    record.address = address
                    record.agentVersion = running.agentVersion
                    record.agentSHA256 = running.binarySHA256
                    try manager.inventory.update(record)
                    logger.info(
                        "agent up to date; not redeployed",
                        metadata: ["vm.name": "\(vm)", "agent.sha256": "\(localSHA)"])
                    return AgentDeployOutcome(
                        status: running, uploaded: false, reason: "the running agent is the binary at hand")
                }
                reason = "the running agent is \(health.summary)"
            case .success(let running):
                reason =
                    "the running agent is \(running.agentVersion) (protocol \(running.protocolVersion), sha256 "
                    + "\(running.binarySHA256)); the binary at hand has sha256 \(localSHA)"
            }
        }
        logger.info("deploying agent", metadata: ["vm.name": "\(vm)", "reason": "\(reason)"])
        let status = try await deploy(
            vm: vm, address: address, agentBinary: agentBinary, sshDeadline: sshDeadline, readyDeadline: readyDeadline)
        return AgentDeployOutcome(status: status, uploaded: true, reason: reason)
    }

    // MARK: Pack-cache key

    /// Installs the host's public pack-cache key (``PackCache/publicKeyring()``, made first when there is none)
    /// in the guest, root-owned and 0644, where the agent's apt source for the cache names it in `signed-by`.
    ///
    /// Its directory is made 0711: apt checks signatures as the `_apt` user, which must reach the keyring (a key
    /// in a 0700 directory is ignored and apt reports `NO_PUBKEY`). The directory stays unlistable to others
    /// and the files in it keep their own modes (the token stays 0600).
    /// - Parameters:
    ///   - session: An open session as root.
    ///   - vm: The VM's name, for errors.
    ///   - path: Where the key goes; ``PackCache/guestKeyringPath`` on a real guest.
    /// - Throws: ``SupervisorError`` `pack_fetch` when the key cannot be made, `ssh` when it cannot be installed.
    public func installPackCacheKey(
        session: SSHSession, vm: String, at path: String = PackCache.guestKeyringPath
    ) async throws(SupervisorError) {
        let keyring = try await PackCache(layout: manager.layout, logger: logger).publicKeyring()
        let directory = (path as NSString).deletingLastPathComponent
        do {
            _ = try await checked(session, "install -d -o root -g root \(directory) && chmod 0711 \(directory)")
            try await session.upload(keyring, to: path, mode: 0o644)
            _ = try await checked(session, "chown root:root \(path) && chmod 0644 \(path)")
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError(.ssh, "cannot install the pack-cache key in '\(vm)' at \(path)", cause: error)
        }
    }

    private func checked(_ session: SSHSession, _ command: String) async throws -> String {
        let result = try await session.run(command, timeout: .seconds(120))
        guard result.exitStatus == 0 else {
            throw SupervisorError(
                .ssh,
                "`\(command)` failed in the guest (exit \(result.exitStatus.map(String.init) ?? "signal")): "
                    + String(decoding: result.stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return String(decoding: result.stdout, as: UTF8.self)
    }

    /// Uploads the agent's key pair and the supervisor's client certificate into ``AgentTLSFiles/defaultDirectory``
    /// (0700; the key 0600), replacing what an earlier deploy left there.
    private func uploadTLS(_ credentials: AgentCredentials, session: SSHSession, vm: String) async throws {
        let directory = AgentTLSFiles.defaultDirectory
        _ = try await checked(session, "install -d -m 0700 \(directory)")
        for file in credentials.guestTLSFiles {
            try await session.upload(file.contents, to: directory + "/" + file.name, mode: file.mode)
        }
    }

    /// Polls the agent until it is healthy.
    /// - Throws: ``SupervisorError/Code/timeout`` with the last observed state.
    public func waitForReady(record: VMRecord, deadline: Duration) async throws(SupervisorError) -> StatusResponse {
        guard let address = record.address else {
            throw SupervisorError(.invalidState, "'\(record.name)' has no address yet")
        }
        let client = try connector.client(for: record, address: address)
        let clock = ContinuousClock()
        let end = clock.now + deadline
        var last = AgentHealth(vm: record.name, state: .starting)
        while clock.now < end {
            last = await client.probe(vm: record.name)
            if last.state == .healthy, let status = try? await client.status() {
                return status
            }
            if last.reason == .authRejected || last.reason == .versionMismatch {
                break
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        throw SupervisorError(
            .timeout, "the agent of '\(record.name)' is not ready: \(last.summary) \(last.detail ?? "")")
    }
}

/// What ``AgentDeployer/ensureDeployed(vm:address:agentBinary:force:sshDeadline:readyDeadline:)`` did.
public struct AgentDeployOutcome: Codable, Sendable {
    /// The agent's status once ready.
    public var status: StatusResponse
    /// Whether the binary was uploaded and installed.
    public var uploaded: Bool
    /// Why it was or was not.
    public var reason: String

    /// Creates an outcome.
    public init(status: StatusResponse, uploaded: Bool, reason: String) {
        self.status = status
        self.uploaded = uploaded
        self.reason = reason
    }
}

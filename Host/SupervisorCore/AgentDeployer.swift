public import AgentAPI
import AgentAPIClient
import AgentAPIGenerated
import Curl
import Foundation
public import Logging
public import SSH

/// Pushes the agent into a VM over SSH and waits until it answers ready through curl.
///
/// The supervisor's own key pair lives in the state directory; each VM's host keys are pinned from its
/// serial console before the first connection (``HostKeyPin``), never trusted on first use, and a different
/// key is refused naming both fingerprints. The binary travels gzip-compressed over its own SSH channel to a staging
/// name, its sha256 is checked in the guest, and only then is it renamed into place. The VM's ``AgentCredentials`` (token, the agent's
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
            connectTimeout: .seconds(5))
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
    ///
    /// Everything goes in two SSH `exec` channels (``GuestInstallScript``): the binary compressed on the first one's
    /// standard input and checked by sha256 in the guest, the token, the TLS files, the pack-cache key, then
    /// `somnus-agent install`. When the inventory says this binary was deployed before, the guest's copy is
    /// checked first and not sent again when its sha256 matches.
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
        let compressed = try await compressedAgent(agentBinary, sha256: localSHA)
        let credentials = try AgentCredentials.ensure(layout: manager.layout, vm: record.domain)
        let keyring = try await PackCache(layout: manager.layout, logger: logger).publicKeyring()
        let clock = ContinuousClock()
        let waitStarted = clock.now
        let session = try await waitForSSH(vm: vm, address: address, deadline: sshDeadline)
        defer { session.close() }
        let installStarted = clock.now
        var present = false
        if record.agentSHA256 == localSHA {
            present = await guestHas(localSHA, at: AgentDeployer.remoteBinary, session)
        }
        if !present {
            var binary = GuestInstallScript()
            binary.fileFromStandardInput(AgentDeployer.remoteBinary, sha256: localSHA, mode: 0o755)
            try await run(binary, input: compressed, source: agentBinary, sha256: localSHA, session: session, vm: vm)
        }
        var script = GuestInstallScript()
        script.directory("/etc/somnus", mode: 0o700)
        script.file(AgentDeployer.remoteToken, contents: Array(credentials.token.utf8), mode: 0o600)
        script.directory(AgentTLSFiles.defaultDirectory, mode: 0o700)
        for file in credentials.guestTLSFiles {
            script.file(AgentTLSFiles.defaultDirectory + "/" + file.name, contents: file.contents, mode: file.mode)
        }
        Self.addPackCacheKey(keyring, at: PackCache.guestKeyringPath, to: &script)
        script.command("\(AgentDeployer.remoteBinary) install")
        try await run(script, input: nil, source: agentBinary, sha256: localSHA, session: session, vm: vm)
        logger.info(
            "agent installed",
            metadata: [
                "vm.name": "\(vm)", "agent.sha256": "\(localSHA)",
                "ssh_wait_seconds": "\((installStarted - waitStarted) / .seconds(1))",
                "install_seconds": "\((clock.now - installStarted) / .seconds(1))",
            ])
        record = try manager.record(vm)
        record.address = address
        let status = try await waitForReady(record: record, deadline: readyDeadline)
        record.agentVersion = status.agentVersion
        record.agentSHA256 = localSHA
        try manager.inventory.update(record)
        return status
    }

    /// Installs a local file in the guest at `remotePath` (0755), sent compressed over one channel, checked by
    /// sha256 in the guest and only then renamed into place, so a partial upload never replaces a working file.
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
        var script = GuestInstallScript()
        script.fileFromStandardInput(remotePath, sha256: sha256, mode: 0o755)
        let compressed = try await compressedAgent(localPath, sha256: try await AgentDeployer.sha256(of: localPath))
        try await run(script, input: compressed, source: localPath, sha256: sha256, session: session, vm: vm)
    }

    /// Whether the guest's file at `path` has the hex sha256 `sha256`.
    private func guestHas(_ sha256: String, at path: String, _ session: SSHSession) async -> Bool {
        let quoted = GuestInstallScript.quoted(path)
        guard let result = try? await session.run("sha256sum < \(quoted) 2>/dev/null | cut -c1-64") else {
            return false
        }
        return result.succeeded && result.stdoutString.trimmingCharacters(in: .whitespacesAndNewlines) == sha256
    }

    /// `localPath` compressed with gzip for upload, made once per binary in the state directory's cache.
    private func compressedAgent(_ localPath: String, sha256: String) async throws(SupervisorError) -> String {
        let path = manager.layout.compressedAgentPath(sha256: sha256)
        if FileManager.default.fileExists(atPath: path) { return path }
        let directory = (path as NSString).deletingLastPathComponent
        try HostFiles.privateDirectory(directory, qemuTraversable: false)
        let temporary = path + ".tmp-\(UInt64.random(in: 0...UInt64.max))"
        try await HostCommand.run("sh", ["-c", "gzip -1 -c -- \"$1\" > \"$2\"", "sh", localPath, temporary])
        // rename(2): a deploy running beside this one may be making or sending the same file.
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(atPath: temporary)
            throw SupervisorError(.hostCommand, "cannot keep the compressed agent at \(path): \(reason)")
        }
        // One cached binary is enough: the older ones are never sent again.
        let current = (path as NSString).lastPathComponent
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasPrefix("somnus-agent-") && name.hasSuffix(".gz") && name != current {
            try? FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        return path
    }

    /// Runs an install script. With `input` (the gzip of `source`), the script is the command and the file its
    /// standard input: such a script holds only paths and a checksum. Without, the script itself goes to `sh` on
    /// standard input, so the token and keys it carries never stand on a guest process's command line, which
    /// every user in the guest can read in `/proc`.
    /// - Throws: ``SupervisorError/Code/ssh`` naming both checksums when the guest's copy is corrupt, or with the
    ///   script's error output.
    private func run(
        _ script: GuestInstallScript, input: String?, source: String, sha256: String, session: SSHSession, vm: String
    ) async throws(SupervisorError) {
        let result: SSHCommandResult
        do {
            if let input {
                result = try await session.run(script.text, inputPath: input, timeout: .seconds(300))
            } else {
                let suffix = ".script-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
                let path = manager.layout.compressedAgentPath(sha256: sha256) + suffix
                try HostFiles.privateDirectory((path as NSString).deletingLastPathComponent, qemuTraversable: false)
                try HostFiles.createExclusive(path, contents: Array(script.text.utf8), mode: 0o600)
                defer { try? FileManager.default.removeItem(atPath: path) }
                result = try await session.run("sh -s", inputPath: path, timeout: .seconds(300))
            }
        } catch let error as SupervisorError {
            throw error
        } catch {
            throw SupervisorError(.ssh, "cannot deploy to '\(vm)'", cause: error)
        }
        guard !result.succeeded else { return }
        let stderr = result.stderrString.trimmingCharacters(in: .whitespacesAndNewlines)
        if result.exitStatus == GuestInstallScript.checksumMismatchStatus {
            let guestSum = stderr.split(separator: " ").last.map(String.init) ?? "?"
            throw SupervisorError(
                .ssh,
                "upload of \(source) to '\(vm)' is corrupt: sha256 \(guestSum) in the guest, \(sha256) here")
        }
        throw SupervisorError(
            .ssh,
            "installing in '\(vm)' failed (exit \(result.exitStatus.map(String.init) ?? result.exitSignal ?? "?")): "
                + stderr)
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
                answer = .success(try await client.call { try await $0.getStatus().ok.body.json })
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
    /// ``deploy(vm:address:agentBinary:sshDeadline:readyDeadline:)`` installs it along with the agent.
    /// - Parameters:
    ///   - session: An open session as root.
    ///   - vm: The VM's name, for errors.
    ///   - path: Where the key goes; ``PackCache/guestKeyringPath`` on a real guest.
    /// - Throws: ``SupervisorError`` `pack_fetch` when the key cannot be made, `ssh` when it cannot be installed.
    public func installPackCacheKey(
        session: SSHSession, vm: String, at path: String = PackCache.guestKeyringPath
    ) async throws(SupervisorError) {
        let keyring = try await PackCache(layout: manager.layout, logger: logger).publicKeyring()
        var script = GuestInstallScript()
        Self.addPackCacheKey(keyring, at: path, to: &script)
        let result: SSHCommandResult
        do {
            result = try await session.run(script.text, timeout: .seconds(120))
        } catch {
            throw SupervisorError(.ssh, "cannot install the pack-cache key in '\(vm)' at \(path)", cause: error)
        }
        guard result.succeeded else {
            throw SupervisorError(
                .ssh, "cannot install the pack-cache key in '\(vm)' at \(path): \(result.stderrString)")
        }
    }

    /// Adds the pack-cache key to a script. Its directory is made 0711: apt checks signatures as the `_apt` user,
    /// which must reach the keyring (a key in a 0700 directory is ignored and apt reports `NO_PUBKEY`). The
    /// directory stays unlistable to others and the files in it keep their own modes (the token stays 0600).
    private static func addPackCacheKey(_ keyring: [UInt8], at path: String, to script: inout GuestInstallScript) {
        script.directory((path as NSString).deletingLastPathComponent, mode: 0o711)
        script.file(path, contents: keyring, mode: 0o644)
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
            if last.state == .healthy, let status = try? await client.call({ try await $0.getStatus().ok.body.json }) {
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

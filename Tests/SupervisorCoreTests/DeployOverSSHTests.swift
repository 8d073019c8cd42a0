import Curl
import Foundation
import Glibc
import Logging
import SSH
import SupervisorCore
import Testing

/// A real OpenSSH server on 127.0.0.1 that accepts the supervisor's key, run from a temporary directory.
final class LoopbackSSHD {
    let directory: String
    let port: Int
    private var process: Process?

    init(authorizedKey: String) throws {
        directory = NSTemporaryDirectory() + "somnus-deploy-sshd-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        try (authorizedKey + "\n").write(toFile: directory + "/authorized_keys", atomically: true, encoding: .utf8)
        port = try closedLoopbackPort()
        try start()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var hostKey: SSHKeyPair { SSHKeyPair(privateKeyPath: directory + "/host_ed25519") }

    /// Stops sshd, makes a new host key and starts it again: what a reinstalled guest looks like.
    func replaceHostKey() throws {
        stop()
        try? FileManager.default.removeItem(atPath: hostKey.privateKeyPath)
        try? FileManager.default.removeItem(atPath: hostKey.publicKeyPath)
        try start()
    }

    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
        self.process = nil
    }

    private func start() throws {
        if !FileManager.default.fileExists(atPath: hostKey.privateKeyPath) {
            _ = try SSHKeyPair.generate(at: hostKey.privateKeyPath, comment: "loopback-host")
        }
        let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(hostKey.privateKeyPath)
            PidFile none
            UsePAM no
            StrictModes no
            PermitRootLogin prohibit-password
            AuthorizedKeysFile \(directory)/authorized_keys
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            Subsystem sftp internal-sftp
            LogLevel ERROR

            """
        try config.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/sshd")
        process.arguments = ["-D", "-e", "-f", directory + "/sshd_config"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let probe = try? CannedServerProbe.connects(port: port), probe { return }
            try? Thread.sleep(forTimeInterval: 0.05)
        }
        throw CannedServerError(message: "sshd did not start listening on \(port)")
    }
}

enum CannedServerProbe {
    static func connects(port: Int) throws -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }
}

@Suite("Agent deploy over a real sshd on loopback", .serialized)
struct DeployOverSSHTests {
    @Test("upload goes to a staging name, is checked by sha256 and renamed into place", .timeLimit(.minutes(2)))
    func uploadChecksumRename() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("dep")
        _ = try await host.manager.create(name: name)
        var deployer = AgentDeployer(manager: host.manager, curl: try CurlClient(), logger: Logger(label: "test"))
        let sshd = try LoopbackSSHD(authorizedKey: try deployer.ensureKeyPair().publicKeyLine())
        deployer.sshPort = sshd.port

        let local = host.root.appendingPathComponent("payload.bin").path
        try Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: local))
        let sha = try await AgentDeployer.sha256(of: local)
        let remoteDirectory = sshd.directory + "/guest-bin"
        try FileManager.default.createDirectory(atPath: remoteDirectory, withIntermediateDirectories: true)
        let remote = remoteDirectory + "/somnus-agent"
        try Data("old".utf8).write(to: URL(fileURLWithPath: remote))

        let session = try await deployer.waitForSSH(vm: name, address: "127.0.0.1", deadline: .seconds(30))
        defer { session.close() }
        try await deployer.install(local, sha256: sha, to: remote, session: session, vm: name)
        #expect(try await AgentDeployer.sha256(of: remote) == sha)
        #expect(!FileManager.default.fileExists(atPath: remoteDirectory + "/.somnus-agent.staged"))
        let mode = try FileManager.default.attributesOfItem(atPath: remote)[.posixPermissions] as? Int
        #expect(mode == 0o755)

        // A wrong expected checksum leaves the installed file alone and names both sums.
        let error = await #expect(throws: SupervisorError.self) {
            try await deployer.install(
                local, sha256: String(repeating: "0", count: 64), to: remote, session: session, vm: name)
        }
        #expect(error?.code == .ssh)
        #expect(error?.message.contains(sha) == true)
        #expect(error?.message.contains(String(repeating: "0", count: 64)) == true)
        #expect(try await AgentDeployer.sha256(of: remote) == sha)
        #expect(!FileManager.default.fileExists(atPath: remoteDirectory + "/.somnus-agent.staged"))
    }

    @Test("a changed host key refuses the deploy with both fingerprints in the error", .timeLimit(.minutes(2)))
    func changedHostKey() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("dep")
        _ = try await host.manager.create(name: name)
        var deployer = AgentDeployer(manager: host.manager, curl: try CurlClient(), logger: Logger(label: "test"))
        let sshd = try LoopbackSSHD(authorizedKey: try deployer.ensureKeyPair().publicKeyLine())
        deployer.sshPort = sshd.port

        let first = try await deployer.waitForSSH(vm: name, address: "127.0.0.1", deadline: .seconds(30))
        first.close()
        let before = try sshd.hostKey.fingerprint()
        try sshd.replaceHostKey()
        let after = try sshd.hostKey.fingerprint()
        #expect(before != after)

        let agent = host.root.appendingPathComponent("somnus-agent").path
        try Data("not really an agent".utf8).write(to: URL(fileURLWithPath: agent))
        let error = await #expect(throws: SupervisorError.self) {
            _ = try await deployer.deploy(
                vm: name, address: "127.0.0.1", agentBinary: agent, sshDeadline: .seconds(30))
        }
        #expect(error?.code == .ssh)
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains(before), "\(text)")
        #expect(text.contains(after), "\(text)")
    }
}

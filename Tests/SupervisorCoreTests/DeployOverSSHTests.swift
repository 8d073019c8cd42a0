import Curl
import Foundation
import Glibc
import Logging
import SSH
import SSHTestSupport
import SupervisorCore
import Testing

@Suite("Agent deploy over a real sshd on loopback", .serialized)
struct DeployOverSSHTests {
    @Test("upload goes to a staging name, is checked by sha256 and renamed into place", .timeLimit(.minutes(2)))
    func uploadChecksumRename() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("dep")
        _ = try await host.manager.create(name: name)
        var deployer = AgentDeployer(manager: host.manager, curl: try CurlClient(), logger: Logger(label: "test"))
        let sshd = try SSHTestServer(authorizedKeys: [try deployer.ensureKeyPair().publicKeyLine()])
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
        let sshd = try SSHTestServer(authorizedKeys: [try deployer.ensureKeyPair().publicKeyLine()])
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

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
        var deployer = AgentDeployer(
            manager: host.manager, connector: try AgentConnector(manager: host.manager), logger: Logger(label: "test"))
        let sshd = try SSHTestServer(authorizedKeys: [try deployer.ensureKeyPair().publicKeyLine()])
        deployer.sshPort = sshd.port

        let local = host.root.appendingPathComponent("payload.bin").path
        try Data((0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }).write(to: URL(fileURLWithPath: local))
        let sha = try await AgentDeployer.sha256(of: local)
        let remoteDirectory = sshd.directory + "/guest-bin"
        try FileManager.default.createDirectory(atPath: remoteDirectory, withIntermediateDirectories: true)
        let remote = remoteDirectory + "/somnus-agent"
        try Data("old".utf8).write(to: URL(fileURLWithPath: remote))
        try printHostKeys(of: sshd, toConsoleOf: name, in: host)

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
        var deployer = AgentDeployer(
            manager: host.manager, connector: try AgentConnector(manager: host.manager), logger: Logger(label: "test"))
        let sshd = try SSHTestServer(authorizedKeys: [try deployer.ensureKeyPair().publicKeyLine()])
        deployer.sshPort = sshd.port
        try printHostKeys(of: sshd, toConsoleOf: name, in: host)

        let first = try await deployer.waitForSSH(vm: name, address: "127.0.0.1", deadline: .seconds(30))
        first.close()
        let before = try sshd.hostKey.fingerprint()
        try sshd.replaceHostKey()
        let after = try sshd.hostKey.fingerprint()
        #expect(before != after)
        // A root guest printing its new key on the console at a later boot does not change the pin.
        try printHostKeys(of: sshd, toConsoleOf: name, in: host)

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

    @Test("no SSH connection is made before the console shows the host keys", .timeLimit(.minutes(2)))
    func waitsForConsoleKeys() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("dep")
        _ = try await host.manager.create(name: name)
        var deployer = AgentDeployer(
            manager: host.manager, connector: try AgentConnector(manager: host.manager), logger: Logger(label: "test"))
        let sshd = try SSHTestServer(authorizedKeys: [try deployer.ensureKeyPair().publicKeyLine()])
        deployer.sshPort = sshd.port

        // sshd answers, but the console has printed nothing: never trusted on first use, a timeout instead.
        let error = await #expect(throws: SupervisorError.self) {
            _ = try await deployer.waitForSSH(vm: name, address: "127.0.0.1", deadline: .seconds(3))
        }
        #expect(error?.code == .timeout)
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains("SOMNUS-SSH-HOST-KEY"), "\(text)")
        let knownHosts = host.manager.layout.knownHostsPath(name)
        #expect(!FileManager.default.fileExists(atPath: knownHosts))

        // The keys appear while it waits: pinned, then connected with the strict policy.
        let record = try host.manager.record(name)
        let consoleLog = record.consoleLogPath
        let lines = try consoleLines(of: sshd)
        let printer = Task {
            try await Task.sleep(for: .seconds(2))
            try appendToConsole(consoleLog, lines)
        }
        let session = try await deployer.waitForSSH(vm: name, address: "127.0.0.1", deadline: .seconds(30))
        session.close()
        try await printer.value
        let pinned = try String(contentsOfFile: knownHosts, encoding: .utf8)
        let keyBlob = try sshd.hostKey.publicKeyLine().split(separator: " ")[1]
        #expect(pinned == "[127.0.0.1]:\(sshd.port) ssh-ed25519 \(keyBlob)\n")
        #expect(try fileMode(knownHosts) == 0o600)
        #expect(FileManager.default.fileExists(atPath: record.consoleLogPath))
    }

    @Test(
        "a key printed on the console that is not the server's is refused naming both fingerprints",
        .timeLimit(.minutes(2)))
    func consoleKeyMismatch() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("dep")
        _ = try await host.manager.create(name: name)
        var deployer = AgentDeployer(
            manager: host.manager, connector: try AgentConnector(manager: host.manager), logger: Logger(label: "test"))
        let sshd = try SSHTestServer(authorizedKeys: [try deployer.ensureKeyPair().publicKeyLine()])
        deployer.sshPort = sshd.port
        let impostor = try SSHKeyPair.generate(at: host.root.appendingPathComponent("impostor").path)
        let record = try host.manager.record(name)
        try Data("SOMNUS-SSH-HOST-KEY \(try impostor.publicKeyLine())\r\n".utf8).write(
            to: URL(fileURLWithPath: record.consoleLogPath))

        let error = await #expect(throws: SupervisorError.self) {
            _ = try await deployer.waitForSSH(vm: name, address: "127.0.0.1", deadline: .seconds(30))
        }
        #expect(error?.code == .ssh)
        let text = error.map { "\($0)" } ?? ""
        #expect(text.contains(try impostor.fingerprint()), "\(text)")
        #expect(text.contains(try sshd.hostKey.fingerprint()), "\(text)")
    }

    @Test(
        "trust follows the VM, not the address: a new address still matches the pinned key",
        .timeLimit(.minutes(2)))
    func addressChangeKeepsTrust() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("dep")
        _ = try await host.manager.create(name: name)
        var deployer = AgentDeployer(
            manager: host.manager, connector: try AgentConnector(manager: host.manager), logger: Logger(label: "test"))
        let sshd = try SSHTestServer(authorizedKeys: [try deployer.ensureKeyPair().publicKeyLine()])
        deployer.sshPort = sshd.port
        try printHostKeys(of: sshd, toConsoleOf: name, in: host)

        try await deployer.waitForSSH(vm: name, address: "127.0.0.1", deadline: .seconds(30)).close()
        // The same sshd under another name: the pinned key is rewritten for it and matches (strict policy).
        try await deployer.waitForSSH(vm: name, address: "localhost", deadline: .seconds(30)).close()
        let knownHosts = host.manager.layout.knownHostsPath(name)
        let keyBlob = try sshd.hostKey.publicKeyLine().split(separator: " ")[1]
        #expect(
            try String(contentsOfFile: knownHosts, encoding: .utf8)
                == "[localhost]:\(sshd.port) ssh-ed25519 \(keyBlob)\n")

        // A different server at the new address is still refused: the pin is the key, not the name.
        try sshd.replaceHostKey()
        let error = await #expect(throws: SupervisorError.self) {
            _ = try await deployer.waitForSSH(vm: name, address: "localhost", deadline: .seconds(30))
        }
        #expect(error?.code == .ssh)
        #expect(error.map { "\($0)" }?.contains(try sshd.hostKey.fingerprint()) == true)
    }
}

/// Appends the test sshd's host key to the VM's console log the way the guest's `somnus-ssh-host-keys` prints
/// it (serial line endings included).
func printHostKeys(of sshd: SSHTestServer, toConsoleOf vm: String, in host: TestHost) throws {
    try appendToConsole(try host.manager.record(vm).consoleLogPath, try consoleLines(of: sshd))
}

/// A boot message and the key line `somnus-ssh-host-keys` prints for the test sshd's host key.
func consoleLines(of sshd: SSHTestServer) throws -> String {
    let fields = try sshd.hostKey.publicKeyLine().split(separator: " ")
    return "[    3.141] systemd[1]: Starting ssh.service\r\nSOMNUS-SSH-HOST-KEY \(fields[0]) \(fields[1])\r\n"
}

/// Appends text to a console log, creating it when needed.
func appendToConsole(_ path: String, _ text: String) throws {
    if !FileManager.default.fileExists(atPath: path) {
        FileManager.default.createFile(atPath: path, contents: nil)
    }
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(text.utf8))
}

/// The permission bits of a file.
func fileMode(_ path: String) throws -> Int {
    var status = stat()
    guard stat(path, &status) == 0 else { throw CocoaError(.fileNoSuchFile) }
    return Int(status.st_mode & 0o7777)
}

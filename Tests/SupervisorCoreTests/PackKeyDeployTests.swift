import Curl
import Foundation
import Logging
import SSH
import SSHTestSupport
import SupervisorCore
import Testing

@Suite("Pack-cache key installed in the guest over a real sshd on loopback", .serialized)
struct PackKeyDeployTests {
    @Test(
        "the deployer installs the host's public pack-cache key 0644 in a 0711 directory, the same key on every deploy",
        .timeLimit(.minutes(2)))
    func installsPublicKey() async throws {
        let host = try await TestHost.make()
        defer { host.cleanUp() }
        let name = uniqueName("key")
        _ = try await host.manager.create(name: name)
        var deployer = AgentDeployer(
            manager: host.manager, connector: try AgentConnector(manager: host.manager), logger: Logger(label: "test"))
        let sshd = try SSHTestServer(authorizedKeys: [try deployer.ensureKeyPair().publicKeyLine()])
        deployer.sshPort = sshd.port

        let target = sshd.directory + "/guest-etc-somnus/pack-cache.gpg"
        try printHostKeys(of: sshd, toConsoleOf: name, in: host)
        let session = try await deployer.waitForSSH(vm: name, address: "127.0.0.1", deadline: .seconds(30))
        defer { session.close() }
        try await deployer.installPackCacheKey(session: session, vm: name, at: target)

        let cache = PackCache(layout: host.manager.layout, logger: Logger(label: "test"))
        #expect(cache.keyDirectory == host.root.path + "/pack-key")
        let keyring = try await cache.publicKeyring()
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: target))) == keyring)
        let attributes = try FileManager.default.attributesOfItem(atPath: target)
        #expect(attributes[.posixPermissions] as? Int == 0o644)
        #expect(attributes[.ownerAccountID] as? Int == 0)
        let directory = try FileManager.default.attributesOfItem(atPath: sshd.directory + "/guest-etc-somnus")
        #expect(directory[.posixPermissions] as? Int == 0o711)
        // Public material only: the keyring opens with an OpenPGP public-key packet (tag 6), not a secret one (5).
        #expect(keyring.first.map { [0x98, 0x99, 0xC6].contains($0) } == true)

        // A second deploy installs the same key (it is made once per state directory).
        try Data("stale".utf8).write(to: URL(fileURLWithPath: target))
        try await deployer.installPackCacheKey(session: session, vm: name, at: target)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: target))) == keyring)
    }
}

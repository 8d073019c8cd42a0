import Foundation
import SSH
import SSHTestSupport
import Testing

@Suite("SSH host key verification", .timeLimit(.minutes(2)))
struct SSHKnownHostsTests {
    @Test("accept-new records an unknown host, then strict accepts it")
    func acceptNewThenStrict() async throws {
        let server = try SSHTestServer()
        let knownHosts = server.directory + "/known_hosts"
        let expected = try server.hostKey.fingerprint()

        let first = try await SSHSession.connect(server.configuration(knownHosts: knownHosts, policy: .acceptNew))
        #expect(first.hostKeyFingerprint == expected)
        first.close()

        let contents = try String(contentsOfFile: knownHosts, encoding: .utf8)
        let lines = contents.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix("[127.0.0.1]:\(server.port) ssh-ed25519 ") == true)
        // The recorded key is the server's public key blob.
        let hostLine = try server.hostKey.publicKeyLine()
        let blob = hostLine.split(separator: " ")[1]
        #expect(contents.contains(String(blob)))

        let second = try await SSHSession.connect(server.configuration(knownHosts: knownHosts, policy: .strict))
        #expect(second.hostKeyFingerprint == expected)
        second.close()
        let again = try String(contentsOfFile: knownHosts, encoding: .utf8)
        #expect(again == contents)
    }

    @Test("strict refuses a host that is not in the file, naming the file and the key")
    func strictRefusesUnknown() async throws {
        let server = try SSHTestServer()
        let knownHosts = server.directory + "/known_hosts"
        let actual = try server.hostKey.fingerprint()
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.connect(server.configuration(knownHosts: knownHosts, policy: .strict))
        }
        #expect(error?.kind == .hostKeyUnknown(actual: actual))
        #expect(error?.message.contains("is not in known-hosts file \(knownHosts)") == true)
        #expect(error?.message.contains(actual) == true)
        #expect(!FileManager.default.fileExists(atPath: knownHosts))
    }

    @Test("A changed host key is refused under both policies with both fingerprints")
    func changedHostKeyRefused() async throws {
        let server = try SSHTestServer()
        let knownHosts = server.directory + "/known_hosts"
        let oldFingerprint = try server.hostKey.fingerprint()
        let first = try await SSHSession.connect(server.configuration(knownHosts: knownHosts, policy: .acceptNew))
        first.close()
        let recorded = try String(contentsOfFile: knownHosts, encoding: .utf8)

        try server.replaceHostKey()
        let newFingerprint = try server.hostKey.fingerprint()
        #expect(newFingerprint != oldFingerprint)

        for policy in [SSHHostKeyPolicy.acceptNew, .strict] {
            let error = await #expect(throws: SSHError.self) {
                try await SSHSession.connect(server.configuration(knownHosts: knownHosts, policy: policy))
            }
            #expect(error?.kind == .hostKeyMismatch(expected: oldFingerprint, actual: newFingerprint))
            let description = error.map { String(describing: $0) } ?? ""
            #expect(description.contains(oldFingerprint))
            #expect(description.contains(newFingerprint))
            #expect(description.contains("changed"))
        }
        // The file is left alone.
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == recorded)
    }

    @Test("A host recorded with a key of another type is refused as changed under accept-new")
    func otherKeyTypeRefused() async throws {
        let server = try SSHTestServer()
        let knownHosts = server.directory + "/known_hosts"
        let ecdsaPath = server.directory + "/other_ecdsa"
        _ = try runProgram("/usr/bin/ssh-keygen", ["-q", "-t", "ecdsa", "-N", "", "-f", ecdsaPath])
        let ecdsaLine = try SSHKeyPair(privateKeyPath: ecdsaPath).publicKeyLine()
        let ecdsaFingerprint = try SSHFingerprint.sha256(publicKeyLine: ecdsaLine)
        let fields = ecdsaLine.split(separator: " ")
        let entry = "[127.0.0.1]:\(server.port) \(fields[0]) \(fields[1])\n"
        try entry.write(toFile: knownHosts, atomically: true, encoding: .utf8)
        let actual = try server.hostKey.fingerprint()
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.connect(server.configuration(knownHosts: knownHosts, policy: .acceptNew))
        }
        #expect(error?.kind == .hostKeyMismatch(expected: ecdsaFingerprint, actual: actual))
        #expect(try String(contentsOfFile: knownHosts, encoding: .utf8) == entry)
    }

    @Test("A known-hosts location that cannot be written is reported under accept-new")
    func unwritableKnownHosts() async throws {
        let server = try SSHTestServer()
        // The parent "directory" is a regular file, so neither the lock nor the file can be created.
        let knownHosts = server.directory + "/sshd_config/known_hosts"
        let error = await #expect(throws: SSHError.self) {
            try await SSHSession.connect(server.configuration(knownHosts: knownHosts, policy: .acceptNew))
        }
        #expect(error?.kind == .knownHostsFile)
        #expect(error?.message.contains("cannot open lock file \(knownHosts).lock") == true)
    }

    @Test("Concurrent first contacts with accept-new record the host once")
    func concurrentAcceptNew() async throws {
        let server = try SSHTestServer()
        let knownHosts = server.directory + "/known_hosts"
        let configuration = server.configuration(knownHosts: knownHosts, policy: .acceptNew)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let session = try await SSHSession.connect(configuration)
                    session.close()
                }
            }
            try await group.waitForAll()
        }
        let lines = try String(contentsOfFile: knownHosts, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1)
    }
}

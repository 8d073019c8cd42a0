import Foundation
import SSHTestSupport
import Testing

@testable import SSH

@Suite("SSH key pairs and fingerprints")
struct SSHKeyPairTests {
    @Test("A generated key pair is ed25519 and its fingerprint matches ssh-keygen -l")
    func generateAndFingerprint() throws {
        let directory = try makeTemporaryDirectory(prefix: "somnus-keys")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pair = try SSHKeyPair.generate(at: directory + "/id_ed25519", comment: "supervisor@test")
        let line = try pair.publicKeyLine()
        #expect(line.hasPrefix("ssh-ed25519 "))
        #expect(line.hasSuffix(" supervisor@test"))
        let attributes = try FileManager.default.attributesOfItem(atPath: pair.privateKeyPath)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let listed = try runProgram("/usr/bin/ssh-keygen", ["-l", "-E", "sha256", "-f", pair.publicKeyPath])
        let fingerprint = try pair.fingerprint()
        #expect(fingerprint.hasPrefix("SHA256:"))
        #expect(listed.contains(" \(fingerprint) "))
    }

    @Test("Generating over an existing key is refused with the path in the message")
    func generateRefusesOverwrite() throws {
        let directory = try makeTemporaryDirectory(prefix: "somnus-keys")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/id_ed25519"
        _ = try SSHKeyPair.generate(at: path)
        let error = #expect(throws: SSHError.self) { try SSHKeyPair.generate(at: path) }
        #expect(error?.kind == .keyGeneration)
        #expect(error?.message.contains("refusing to overwrite existing file \(path)") == true)
    }

    @Test("ssh-keygen failure is reported with its standard error")
    func generateReportsKeygenFailure() throws {
        let error = #expect(throws: SSHError.self) {
            try SSHKeyPair.generate(at: "/nonexistent-dir-\(UUID().uuidString)/id_ed25519")
        }
        #expect(error?.kind == .keyGeneration)
        #expect(error?.message.contains("ssh-keygen exited with status") == true)
    }

    @Test("A missing public key file is reported as a local file error")
    func missingPublicKey() {
        let pair = SSHKeyPair(privateKeyPath: "/nonexistent-\(UUID().uuidString)")
        let error = #expect(throws: SSHError.self) { try pair.publicKeyLine() }
        #expect(error?.message.contains("cannot read public key \(pair.publicKeyPath)") == true)
    }

    @Test("A malformed public key line is rejected")
    func malformedPublicKeyLine() {
        let error = #expect(throws: SSHError.self) { try SSHFingerprint.sha256(publicKeyLine: "ssh-ed25519") }
        #expect(error?.kind == .invalidPublicKey)
        #expect(error?.message.contains("not a public key line") == true)
    }
}

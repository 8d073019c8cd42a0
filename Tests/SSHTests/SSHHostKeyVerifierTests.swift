import Foundation
import SSHTestSupport
import Testing

@testable import SSH

@Suite("Host key algorithm preference")
struct SSHHostKeyVerifierTests {
    @Test("Key types on file for the host are offered first, ed25519 leads otherwise")
    func preferredAlgorithms() throws {
        let directory = try makeTemporaryDirectory(prefix: "somnus-kh")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/known_hosts"
        try """
        # comment
        [10.0.0.5]:2222 ecdsa-sha2-nistp256 AAAAE2VjZHNh
        other.example,10.0.0.9 ssh-rsa AAAAB3NzaC1yc2E
        10.0.0.9 ecdsa-sha2-nistp384 AAAAE2VjZHNh

        """.write(toFile: path, atomically: true, encoding: .utf8)

        let defaults = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa"
        #expect(SSHHostKeyVerifier.preferredAlgorithms(path: path, host: "10.0.0.1", port: 22) == defaults)
        #expect(SSHHostKeyVerifier.preferredAlgorithms(path: directory + "/absent", host: "x", port: 22) == defaults)
        #expect(
            SSHHostKeyVerifier.preferredAlgorithms(path: path, host: "10.0.0.5", port: 2222)
                == "ecdsa-sha2-nistp256,ssh-ed25519,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,ssh-rsa")
        #expect(SSHHostKeyVerifier.preferredAlgorithms(path: path, host: "10.0.0.5", port: 22) == defaults)
        #expect(
            SSHHostKeyVerifier.preferredAlgorithms(path: path, host: "10.0.0.9", port: 22)
                == "ssh-rsa,ecdsa-sha2-nistp384,ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp521")
    }
}

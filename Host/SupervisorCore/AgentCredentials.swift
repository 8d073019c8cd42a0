import AgentAPI
import Crypto
public import Curl
import Foundation
import SwiftASN1
import X509

/// What the supervisor and one VM's agent share: the bearer token, the agent's key pair (its certificate's public
/// key pinned by the supervisor) and the supervisor's client certificate (pinned by the agent).
///
/// All of it is made once and kept for the VM's life: a redeploy uploads the same files again, so an agent restored
/// from any snapshot of the VM still knows the host, and the host still knows it.
public struct AgentCredentials: Sendable {
    /// The bearer token, 64 hex digits.
    public let token: String
    /// The agent's certificate (PEM).
    public let agentCertificate: String
    /// The agent's private key (PEM); it goes to the guest and nowhere else.
    public let agentKey: String
    /// The agent's public key as a curl pin, `sha256//BASE64`.
    public let agentPin: String
    /// The supervisor's client certificate (PEM).
    public let hostCertificate: String
    /// The supervisor's client certificate file (PEM).
    public let hostCertificatePath: String
    /// The supervisor's client key file (PEM, 0600).
    public let hostKeyPath: String

    /// The TLS settings of a request to this agent.
    public var tls: CurlTLS {
        CurlTLS(pinnedPublicKey: agentPin, clientCertificateFile: hostCertificatePath, clientKeyFile: hostKeyPath)
    }

    /// The files of the agent's `tls_dir` (``AgentTLSFiles``): name, contents and mode.
    public var guestTLSFiles: [(name: String, contents: [UInt8], mode: UInt32)] {
        [
            (AgentTLSFiles.certificate, Array(agentCertificate.utf8), 0o644),
            (AgentTLSFiles.privateKey, Array(agentKey.utf8), 0o600),
            (AgentTLSFiles.clientCertificate, Array(hostCertificate.utf8), 0o644),
        ]
    }

    /// Reads a VM's credentials as they are.
    /// - Parameters:
    ///   - layout: The state directory.
    ///   - vm: The VM's domain name (``VMRecord/domain``), which names its directory.
    /// - Returns: `nil` when the VM has no agent certificate (an agent deployed without TLS, or none yet).
    /// - Throws: ``SupervisorError/Code/hostCommand`` when a file that exists cannot be read or parsed.
    public static func read(layout: StateLayout, vm: String) throws(SupervisorError) -> AgentCredentials? {
        let certificatePath = layout.agentCertificatePath(vm)
        guard FileManager.default.fileExists(atPath: certificatePath) else { return nil }
        let certificate = try text(of: certificatePath)
        return AgentCredentials(
            token: try text(of: layout.agentTokenPath(vm)).trimmingCharacters(in: .whitespacesAndNewlines),
            agentCertificate: certificate, agentKey: try text(of: layout.agentKeyPath(vm)),
            agentPin: try pin(ofCertificate: certificate, source: certificatePath),
            hostCertificate: try text(of: layout.hostCertificatePath), hostCertificatePath: layout.hostCertificatePath,
            hostKeyPath: layout.hostKeyPath)
    }

    /// Makes what a VM lacks (token, agent key pair, the supervisor's client key pair) and returns the whole set.
    /// Existing files are kept.
    /// - Parameters:
    ///   - layout: The state directory.
    ///   - vm: The VM's domain name (``VMRecord/domain``), which names its directory.
    /// - Throws: ``SupervisorError/Code/hostCommand`` when a file cannot be made or read.
    public static func ensure(layout: StateLayout, vm: String) throws(SupervisorError) -> AgentCredentials {
        let fileManager = FileManager.default
        if !fileManager.fileExists(atPath: layout.agentTokenPath(vm)) {
            var generator = SystemRandomNumberGenerator()
            let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }
                .joined()
            try HostFiles.writePrivate(Array(token.utf8), to: layout.agentTokenPath(vm))
        }
        if !fileManager.fileExists(atPath: layout.agentCertificatePath(vm))
            || !fileManager.fileExists(atPath: layout.agentKeyPath(vm))
        {
            let pair = try selfSigned(commonName: "somnus-agent \(vm)")
            try HostFiles.writePrivate(Array(pair.key.utf8), to: layout.agentKeyPath(vm))
            try HostFiles.writePrivate(Array(pair.certificate.utf8), to: layout.agentCertificatePath(vm), mode: 0o644)
        }
        if !fileManager.fileExists(atPath: layout.hostCertificatePath)
            || !fileManager.fileExists(atPath: layout.hostKeyPath)
        {
            try HostFiles.privateDirectory(layout.tlsDirectory, qemuTraversable: false)
            let pair = try selfSigned(commonName: "somnus supervisor")
            try HostFiles.writePrivate(Array(pair.key.utf8), to: layout.hostKeyPath)
            try HostFiles.writePrivate(Array(pair.certificate.utf8), to: layout.hostCertificatePath, mode: 0o644)
        }
        guard let credentials = try read(layout: layout, vm: vm) else {
            throw SupervisorError(.hostCommand, "\(layout.agentCertificatePath(vm)) vanished while it was made")
        }
        return credentials
    }

    /// A new P-256 key pair and a self-signed certificate for it, both PEM. Its dates are wide (a day back, twenty
    /// years on) and play no part: both ends pin the key.
    static func selfSigned(commonName: String) throws(SupervisorError) -> (certificate: String, key: String) {
        let key = P256.Signing.PrivateKey()
        do {
            let name = try DistinguishedName { CommonName(commonName) }
            let now = Date()
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now - 86_400, notValidAfter: now + 20 * 365 * 86_400, issuer: name, subject: name,
                signatureAlgorithm: .ecdsaWithSHA256, extensions: Certificate.Extensions(),
                issuerPrivateKey: .init(key))
            return (try certificate.serializeAsPEM().pemString + "\n", key.pemRepresentation + "\n")
        } catch {
            throw SupervisorError(.hostCommand, "cannot make a certificate for \(commonName)", cause: error)
        }
    }

    /// A certificate's public key as a curl pin: `sha256//` and the base64 SHA-256 of its DER SubjectPublicKeyInfo.
    /// - Parameters:
    ///   - pem: The certificate, PEM.
    ///   - source: Where it came from, for the error.
    static func pin(ofCertificate pem: String, source: String) throws(SupervisorError) -> String {
        do {
            let certificate = try Certificate(pemEncoded: pem)
            var serializer = DER.Serializer()
            try serializer.serialize(certificate.publicKey)
            let spki = serializer.serializedBytes
            return "sha256//" + Data(SHA256.hash(data: spki)).base64EncodedString()
        } catch {
            throw SupervisorError(.hostCommand, "\(source) is not a PEM certificate", cause: error)
        }
    }

    private static func text(of path: String) throws(SupervisorError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw SupervisorError(.hostCommand, "cannot read \(path)", cause: error)
        }
    }
}

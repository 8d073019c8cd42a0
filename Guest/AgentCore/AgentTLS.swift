import AgentAPI
import AgentBasics
import Crypto
import FoundationEssentials
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL

/// The TCP listener's mutual TLS: the agent's own key pair, and the one client it accepts, pinned by the SHA-256 of
/// the client certificate's public key (the host's, written at deploy time beside the agent's pair).
///
/// Chains, names and dates are not checked: the pin is the whole check, as on the host's side, so that neither a
/// guest clock that is off nor a certificate authority can let anybody else in.
struct AgentTLS: Sendable {
    /// The TLS settings of the listener.
    let channel: TLSChannelConfiguration
    /// `sha256//BASE64` of the accepted client's SubjectPublicKeyInfo.
    let clientPin: String

    /// Loads the three files of `directory`.
    /// - Returns: `nil` when none of them exists (the listener then speaks plain HTTP).
    /// - Throws: ``AgentError`` `invalid_configuration` naming the file that is missing or unusable.
    static func load(directory: String, logger: Logger) throws(AgentError) -> AgentTLS? {
        let paths = [AgentTLSFiles.certificate, AgentTLSFiles.privateKey, AgentTLSFiles.clientCertificate].map {
            directory + "/" + $0
        }
        let present = paths.filter { FileManager.default.fileExists(atPath: $0) }
        if present.isEmpty { return nil }
        if let missing = paths.first(where: { !present.contains($0) }) {
            throw AgentError(.invalidConfiguration, "tls_dir: \(missing) is missing (\(directory) has only some files)")
        }
        let certificate: NIOSSLCertificate
        let key: NIOSSLPrivateKey
        let client: NIOSSLCertificate
        do {
            certificate = try Self.certificate(at: paths[0])
        } catch {
            throw AgentError(.invalidConfiguration, "tls_dir: \(paths[0]) is not a PEM certificate", cause: error)
        }
        do {
            key = try NIOSSLPrivateKey(file: paths[1], format: .pem)
        } catch {
            throw AgentError(.invalidConfiguration, "tls_dir: \(paths[1]) is not a PEM private key", cause: error)
        }
        do {
            client = try Self.certificate(at: paths[2])
        } catch {
            throw AgentError(.invalidConfiguration, "tls_dir: \(paths[2]) is not a PEM certificate", cause: error)
        }
        guard let clientPin = pin(of: client) else {
            throw AgentError(.invalidConfiguration, "tls_dir: \(paths[2]) has no readable public key")
        }
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv13
        // Asks for a client certificate and refuses the handshake without one; the callback below decides.
        tls.certificateVerification = .noHostnameVerification
        let channel = TLSChannelConfiguration(tlsConfiguration: tls) { certificates, promise in
            let presented = certificates.first.flatMap(pin(of:))
            if presented == clientPin {
                promise.succeed(.certificateVerified)
            } else {
                logger.warning(
                    "TLS client refused: its key is not the host's",
                    metadata: ["agent.tls.presented": "\(presented ?? "none")", "agent.tls.pinned": "\(clientPin)"])
                promise.succeed(.failed)
            }
        }
        return AgentTLS(channel: channel, clientPin: clientPin)
    }

    /// The first certificate of a PEM file.
    private static func certificate(at path: String) throws -> NIOSSLCertificate {
        guard let first = try NIOSSLCertificate.fromPEMFile(path).first else {
            throw AgentError(.invalidConfiguration, "\(path) holds no certificate")
        }
        return first
    }

    /// `sha256//` and the base64 SHA-256 of a certificate's DER SubjectPublicKeyInfo, as curl spells pins.
    static func pin(of certificate: NIOSSLCertificate) -> String? {
        guard let spki = try? certificate.extractPublicKey().toSPKIBytes() else { return nil }
        return "sha256//" + Data(SHA256.hash(data: spki)).base64EncodedString()
    }
}

/// TLS to a server whose key is pinned rather than vouched for by a certificate authority, optionally with a client
/// certificate: the shape of a private channel between two parties that exchanged keys beforehand.
///
/// The server's certificate chain, name and dates are not checked; its public key must be exactly
/// ``pinnedPublicKey`` or curl aborts the handshake before a byte of the request is sent.
public struct CurlTLS: Sendable, Hashable {
    /// The server's public key, `sha256//` and the base64 SHA-256 of its DER SubjectPublicKeyInfo
    /// (`CURLOPT_PINNEDPUBLICKEY`).
    public var pinnedPublicKey: String
    /// A PEM file with the client certificate to present, or `nil` for none.
    public var clientCertificateFile: String?
    /// A PEM file with the client certificate's private key, or `nil` for none.
    public var clientKeyFile: String?

    /// Creates TLS settings.
    /// - Parameters:
    ///   - pinnedPublicKey: `sha256//BASE64` of the server's SubjectPublicKeyInfo.
    ///   - clientCertificateFile: The client certificate (PEM), or `nil`.
    ///   - clientKeyFile: Its private key (PEM), or `nil`.
    public init(pinnedPublicKey: String, clientCertificateFile: String? = nil, clientKeyFile: String? = nil) {
        self.pinnedPublicKey = pinnedPublicKey
        self.clientCertificateFile = clientCertificateFile
        self.clientKeyFile = clientKeyFile
    }
}

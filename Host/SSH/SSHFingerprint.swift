import Crypto
import Foundation

/// OpenSSH-style key fingerprints: `SHA256:` followed by the unpadded base64 of the SHA-256 digest of
/// the key blob, exactly as `ssh-keygen -l` prints them.
public enum SSHFingerprint {
    /// Returns the fingerprint of a raw public key blob (the wire form, as found base64-encoded in
    /// `authorized_keys` and `known_hosts`).
    /// - Parameter keyBlob: The key blob.
    /// - Returns: The fingerprint, for example `SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s`.
    public static func sha256(keyBlob: [UInt8]) -> String {
        let encoded = Data(SHA256.hash(data: keyBlob)).base64EncodedString()
        return "SHA256:" + encoded.replacingOccurrences(of: "=", with: "")
    }

    /// Returns the fingerprint of a public key line such as `ssh-ed25519 AAAAC3Nz… comment`.
    /// - Parameter publicKeyLine: A line in `authorized_keys` / `.pub` format.
    /// - Returns: The fingerprint.
    /// - Throws: `SSHError` with kind `.invalidPublicKey` if the line has no base64 key blob.
    public static func sha256(publicKeyLine: String) throws(SSHError) -> String {
        let fields = publicKeyLine.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])), !blob.isEmpty else {
            throw SSHError(
                kind: .invalidPublicKey, message: "not a public key line: \(publicKeyLine.prefix(60))",
                function: "SSHFingerprint.sha256(publicKeyLine:)")
        }
        return sha256(keyBlob: [UInt8](blob))
    }
}

import Foundation

/// A private key file and its `.pub` companion, as used by the supervisor to log in to guests.
///
/// Keys are generated as ed25519 in OpenSSH's private key format without a passphrase: the libssh2
/// 1.10 OpenSSL build on Debian 12 loads those, whereas its RSA support only signs with `ssh-rsa`
/// (SHA-1), which OpenSSH 8.8 and later refuse.
public struct SSHKeyPair: Sendable, Equatable {
    /// The path of the private key file (mode 0600).
    public let privateKeyPath: String
    /// The path of the public key file (`privateKeyPath` + `.pub`).
    public var publicKeyPath: String { privateKeyPath + ".pub" }

    /// Refers to an existing key pair.
    /// - Parameter privateKeyPath: The path of the private key; the public key is expected next to it
    ///   with a `.pub` suffix.
    public init(privateKeyPath: String) {
        self.privateKeyPath = privateKeyPath
    }

    /// Generates a new ed25519 key pair with `ssh-keygen`.
    /// - Parameters:
    ///   - privateKeyPath: Where to write the private key; the public key goes to the same path + `.pub`.
    ///     Neither file may exist yet, and the directory must exist.
    ///   - comment: The comment stored in the public key.
    ///   - sshKeygenPath: The `ssh-keygen` executable.
    /// - Returns: The new key pair.
    /// - Throws: `SSHError` with kind `.keyGeneration` if a file already exists or `ssh-keygen` fails
    ///   (the message includes its standard error).
    public static func generate(
        at privateKeyPath: String, comment: String = "somnus-supervisor", sshKeygenPath: String = "/usr/bin/ssh-keygen"
    ) throws(SSHError) -> SSHKeyPair {
        let function = "SSHKeyPair.generate"
        let pair = SSHKeyPair(privateKeyPath: privateKeyPath)
        for path in [privateKeyPath, pair.publicKeyPath] where FileManager.default.fileExists(atPath: path) {
            throw SSHError(
                kind: .keyGeneration, message: "refusing to overwrite existing file \(path)", function: function)
        }
        let outcome = try SSHChildProcess.run(
            sshKeygenPath, ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", privateKeyPath])
        guard outcome.exitStatus == 0 else {
            let text = outcome.standardError.trimmingCharacters(in: .whitespacesAndNewlines)
            let status = outcome.exitStatus.map(String.init) ?? "none (killed by a signal)"
            throw SSHError(
                kind: .keyGeneration, message: "ssh-keygen exited with status \(status): \(text)", function: function)
        }
        return pair
    }

    /// Reads the public key line (`ssh-ed25519 AAAA… comment`), ready for `authorized_keys`.
    /// - Returns: The first line of the `.pub` file, without the trailing newline.
    /// - Throws: `SSHError` with kind `.localFile` if the file cannot be read, `.invalidPublicKey` if
    ///   it is empty.
    public func publicKeyLine() throws(SSHError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: publicKeyPath))
        } catch {
            throw SSHError(
                kind: .localFile(errno: Int32((error as NSError).code)),
                message: "cannot read public key \(publicKeyPath): \(error.localizedDescription)",
                function: "SSHKeyPair.publicKeyLine")
        }
        let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        guard !line.isEmpty else {
            throw SSHError(
                kind: .invalidPublicKey, message: "public key file \(publicKeyPath) is empty",
                function: "SSHKeyPair.publicKeyLine")
        }
        return line
    }

    /// Computes the OpenSSH-style fingerprint (`SHA256:…`) of the public key.
    /// - Returns: The fingerprint, as `ssh-keygen -l` prints it.
    /// - Throws: `SSHError` if the public key file cannot be read or parsed.
    public func fingerprint() throws(SSHError) -> String {
        try SSHFingerprint.sha256(publicKeyLine: publicKeyLine())
    }
}

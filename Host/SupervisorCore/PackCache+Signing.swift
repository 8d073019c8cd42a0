import AgentAPI
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The host's pack-cache signing key: one ed25519 OpenPGP key per host, without a passphrase, made with
/// `gpg --batch` the first time the apt repository is indexed.
///
/// Layout under ``PackCache/keyDirectory`` (mode 0700):
/// - `gnupg/`: the `GNUPGHOME` holding the secret key (directories 0700, files 0600).
/// - `pack-cache.gpg`: the public key as a binary keyring (`gpg --export`), the file the agent deployer
///   installs in each guest as ``PackCache/guestKeyringPath``.
///
/// `gpg-agent` is stopped after every use, so no process outlives a signing run.
extension PackCache {
    /// Where the guest keeps the host's public pack-cache key; the apt source names it in `signed-by`.
    public static let guestKeyringPath = PackInstallRequest.aptKeyringPath
    /// The user id of the signing key.
    static let signingUserID = "Somnus pack cache <pack-cache@somnus.invalid>"

    /// The `GNUPGHOME` holding the secret key.
    public var gnupgHome: String { keyDirectory + "/gnupg" }
    /// The public key as a binary keyring.
    public var publicKeyringPath: String { keyDirectory + "/pack-cache.gpg" }
    /// Records the fingerprint of the key that signed the current `Release`.
    var signedByPath: String { root + "/state/apt-signed-by" }

    /// Makes the signing key unless it exists, and exports its public half to ``publicKeyringPath``.
    /// - Returns: The key's fingerprint (40 hex digits).
    /// - Throws: ``SupervisorError/Code/packFetch`` when `gpg` fails or the directory cannot be made private.
    @discardableResult
    public func ensureSigningKey() async throws(SupervisorError) -> String {
        do {
            let fingerprint = try await makeSigningKey()
            await stopAgent()
            return fingerprint
        } catch {
            await stopAgent()
            throw error
        }
    }

    private func makeSigningKey() async throws(SupervisorError) -> String {
        do {
            for directory in [keyDirectory, gnupgHome] {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory)
            }
        } catch {
            throw SupervisorError(.packFetch, "cannot create the pack-cache key directory \(gnupgHome)", cause: error)
        }
        var fingerprint = try await signingFingerprint()
        if fingerprint == nil {
            logger.info("creating the pack-cache signing key", metadata: ["pack.key.home": "\(gnupgHome)"])
            try await gpg(
                [
                    "--passphrase", "", "--pinentry-mode", "loopback", "--quick-gen-key", PackCache.signingUserID,
                    "ed25519", "sign", "never",
                ],
                doing: "create the pack-cache signing key")
            fingerprint = try await signingFingerprint()
        }
        guard let fingerprint else {
            throw SupervisorError(.packFetch, "gpg made no secret key in \(gnupgHome)")
        }
        try restrictSecretFiles()
        // Exported every time, so the file always holds the key that signs.
        let temporary = publicKeyringPath + ".tmp"
        try await gpg(["--yes", "--output", temporary, "--export", fingerprint], doing: "export the public key")
        do {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: temporary)
        } catch {
            throw SupervisorError(.packFetch, "cannot set the mode of \(temporary)", cause: error)
        }
        try moveIntoPlace(temporary, publicKeyringPath)
        return fingerprint
    }

    /// The public key as a binary keyring, made first when there is none.
    /// - Returns: The bytes of `gpg --export`.
    /// - Throws: ``SupervisorError/Code/packFetch`` when the key cannot be made or read.
    public func publicKeyring() async throws(SupervisorError) -> [UInt8] {
        try await ensureSigningKey()
        do {
            return Array(try Data(contentsOf: URL(fileURLWithPath: publicKeyringPath)))
        } catch {
            throw SupervisorError(.packFetch, "cannot read \(publicKeyringPath)", cause: error)
        }
    }

    /// Whether `Release` lacks a signature or was signed by another key than the current one.
    func aptIndexNeedsSigning() async throws(SupervisorError) -> Bool {
        let fingerprint = try await ensureSigningKey()
        for file in ["Packages", "Release", "InRelease", "Release.gpg"]
        where !FileManager.default.fileExists(atPath: aptDirectory + "/" + file) {
            return true
        }
        let signedBy = try? String(contentsOfFile: signedByPath, encoding: .utf8)
        return signedBy?.trimmingCharacters(in: .whitespacesAndNewlines) != fingerprint
    }

    /// Signs `apt/Release` into `apt/InRelease` (clear-signed) and `apt/Release.gpg` (detached, armored).
    func signRelease() async throws(SupervisorError) {
        let fingerprint = try await ensureSigningKey()
        do {
            try await sign(with: fingerprint)
            await stopAgent()
        } catch {
            await stopAgent()
            throw error
        }
        try write(Data((fingerprint + "\n").utf8), to: signedByPath)
    }

    private func sign(with fingerprint: String) async throws(SupervisorError) {
        let release = aptDirectory + "/Release"
        let outputs = [
            ("InRelease", ["--clearsign"]),
            ("Release.gpg", ["--armor", "--detach-sign"]),
        ]
        for (name, mode) in outputs {
            let temporary = aptDirectory + "/.\(name).tmp"
            try await gpg(
                [
                    "--yes", "--pinentry-mode", "loopback", "--passphrase", "", "--local-user", fingerprint,
                    "--digest-algo", "SHA512", "--output", temporary,
                ] + mode + [release],
                doing: "sign \(release)")
            try moveIntoPlace(temporary, aptDirectory + "/" + name)
        }
    }

    // MARK: gpg

    private func signingFingerprint() async throws(SupervisorError) -> String? {
        let listing = try await gpg(["--with-colons", "--list-secret-keys"], doing: "list the pack-cache key")
        var inSecretKey = false
        for line in listing.split(separator: "\n") {
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard let kind = fields.first else { continue }
            if kind == "sec" {
                inSecretKey = true
            } else if kind == "fpr", inSecretKey, fields.count > 9, fields[9].count == 40 {
                return String(fields[9])
            } else if kind == "ssb" {
                inSecretKey = false
            }
        }
        return nil
    }

    @discardableResult
    private func gpg(_ arguments: [String], doing what: String) async throws(SupervisorError) -> String {
        do {
            return try await PackHostCommand.run(
                "gpg", ["--batch", "--no-tty", "--quiet"] + arguments, environment: ["GNUPGHOME": gnupgHome])
        } catch {
            throw SupervisorError(.packFetch, "cannot \(what) (GNUPGHOME \(gnupgHome))", cause: error)
        }
    }

    /// Stops the `gpg-agent` that `gpg` started for ``gnupgHome`` (nothing to do when none runs).
    private func stopAgent() async {
        do {
            try await PackHostCommand.run("gpgconf", ["--kill", "gpg-agent"], environment: ["GNUPGHOME": gnupgHome])
        } catch {
            logger.debug("cannot stop gpg-agent", metadata: ["pack.key.home": "\(gnupgHome)", "error": "\(error)"])
        }
    }

    /// Makes every file under ``gnupgHome`` 0600 and every directory 0700 (gpg's defaults, enforced).
    private func restrictSecretFiles() throws(SupervisorError) {
        let manager = FileManager.default
        guard let enumerator = manager.enumerator(atPath: gnupgHome) else { return }
        while let relative = enumerator.nextObject() as? String {
            let path = gnupgHome + "/" + relative
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            let attributes = try? manager.attributesOfItem(atPath: path)
            if attributes?[.type] as? FileAttributeType == .typeSocket { continue }
            do {
                try manager.setAttributes(
                    [.posixPermissions: isDirectory.boolValue ? 0o700 : 0o600], ofItemAtPath: path)
            } catch {
                throw SupervisorError(.packFetch, "cannot restrict \(path) to its owner", cause: error)
            }
        }
    }

    /// Renames `temporary` over `path` (atomically, on one file system).
    private func moveIntoPlace(_ temporary: String, _ path: String) throws(SupervisorError) {
        guard Glibc.rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            throw SupervisorError(.packFetch, "cannot rename \(temporary) to \(path): \(reason)")
        }
    }
}

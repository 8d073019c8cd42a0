internal import CSSH2
import Foundation
import Glibc

/// Checks a server's host key against the caller's known-hosts file with libssh2's knownhost API.
enum SSHHostKeyVerifier {
    private enum Outcome {
        case match
        case mismatch(expectedFingerprint: String)
        case notFound
    }

    /// Verifies the host key of a session that has completed its handshake.
    /// - Returns: The server's host key fingerprint.
    /// - Throws: `SSHError` with kind `.hostKeyUnknown`, `.hostKeyMismatch`, `.knownHostsFile` or
    ///   `.handshakeFailed`.
    static func verify(session: OpaquePointer, configuration: SSHSessionConfiguration) throws(SSHError) -> String {
        var keyLength = 0
        var keyType: Int32 = 0
        guard let key = libssh2_session_hostkey(session, &keyLength, &keyType) else {
            throw SSHSession.lastError(session, kind: .handshakeFailed, function: "libssh2_session_hostkey")
        }
        let keyBytes = [UInt8](UnsafeRawBufferPointer(start: key, count: keyLength))
        let actual = SSHFingerprint.sha256(keyBlob: keyBytes)
        guard let typeMask = knownHostKeyType(keyType) else {
            throw SSHError(
                kind: .handshakeFailed, message: "unsupported host key type \(keyType)",
                function: "libssh2_session_hostkey")
        }
        let knownHosts = configuration.knownHosts
        let endpoint = "\(configuration.host):\(configuration.port)"
        let checkFile = { () throws(SSHError) -> Outcome in
            try check(
                session: session, path: knownHosts.path, host: configuration.host, port: configuration.port,
                key: key, keyLength: keyLength, typeMask: typeMask)
        }
        switch try checkFile() {
        case .match:
            return actual
        case .mismatch(let expected):
            throw mismatch(endpoint: endpoint, path: knownHosts.path, expected: expected, actual: actual)
        case .notFound where knownHosts.policy == .strict:
            throw SSHError(
                kind: .hostKeyUnknown(actual: actual),
                message: "host \(endpoint) is not in known-hosts file \(knownHosts.path) (server key \(actual))",
                function: "libssh2_knownhost_checkp")
        case .notFound:
            break
        }
        // A host recorded with a key of another type counts as changed, not as new.
        if case .mismatch(let expected) = try checkAnyType(
            session: session, path: knownHosts.path, host: configuration.host, port: configuration.port, key: key,
            keyLength: keyLength)
        {
            throw mismatch(endpoint: endpoint, path: knownHosts.path, expected: expected, actual: actual)
        }

        // acceptNew: record the key under an exclusive lock, re-checking in case another writer won.
        let lockDescriptor = try lockFile(knownHosts.path + ".lock")
        defer {
            flock(lockDescriptor, LOCK_UN)
            Glibc.close(lockDescriptor)
        }
        switch try checkFile() {
        case .match:
            return actual
        case .mismatch(let expected):
            throw mismatch(endpoint: endpoint, path: knownHosts.path, expected: expected, actual: actual)
        case .notFound:
            try record(
                session: session, path: knownHosts.path, host: configuration.host, port: configuration.port,
                key: key, keyLength: keyLength, typeMask: typeMask)
            return actual
        }
    }

    private static func mismatch(endpoint: String, path: String, expected: String, actual: String) -> SSHError {
        SSHError(
            kind: .hostKeyMismatch(expected: expected, actual: actual),
            message:
                "host key for \(endpoint) changed: known-hosts file \(path) has \(expected), server sent \(actual)",
            function: "libssh2_knownhost_checkp")
    }

    private static func knownHostKeyType(_ hostKeyType: Int32) -> Int32? {
        switch hostKeyType {
        case LIBSSH2_HOSTKEY_TYPE_RSA: LIBSSH2_KNOWNHOST_KEY_SSHRSA
        case LIBSSH2_HOSTKEY_TYPE_DSS: LIBSSH2_KNOWNHOST_KEY_SSHDSS
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: LIBSSH2_KNOWNHOST_KEY_ECDSA_256
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: LIBSSH2_KNOWNHOST_KEY_ECDSA_384
        case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: LIBSSH2_KNOWNHOST_KEY_ECDSA_521
        case LIBSSH2_HOSTKEY_TYPE_ED25519: LIBSSH2_KNOWNHOST_KEY_ED25519
        default: nil
        }
    }

    /// Loads the known-hosts file (a missing file counts as empty) into a fresh collection.
    private static func load(session: OpaquePointer, path: String) throws(SSHError) -> OpaquePointer {
        guard let hosts = libssh2_knownhost_init(session) else {
            throw SSHSession.lastError(session, kind: .knownHostsFile, function: "libssh2_knownhost_init")
        }
        if FileManager.default.fileExists(atPath: path) {
            let count = libssh2_knownhost_readfile(hosts, path, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
            if count < 0 {
                let error = SSHSession.lastError(session, kind: .knownHostsFile, function: "libssh2_knownhost_readfile")
                libssh2_knownhost_free(hosts)
                throw SSHError(
                    kind: .knownHostsFile, code: error.code, message: "cannot read \(path): \(error.message)",
                    function: error.function)
            }
        }
        return hosts
    }

    private static func check(
        session: OpaquePointer, path: String, host: String, port: Int, key: UnsafePointer<CChar>, keyLength: Int,
        typeMask: Int32
    ) throws(SSHError) -> Outcome {
        let hosts = try load(session: session, path: path)
        defer { libssh2_knownhost_free(hosts) }
        var found: UnsafeMutablePointer<libssh2_knownhost>?
        let typeBits = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | typeMask
        let result = libssh2_knownhost_checkp(hosts, host, Int32(port), key, keyLength, typeBits, &found)
        switch result {
        case LIBSSH2_KNOWNHOST_CHECK_MATCH:
            return .match
        case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
            var expected = "unknown"
            if let encoded = found?.pointee.key, let blob = Data(base64Encoded: String(cString: encoded)) {
                expected = SSHFingerprint.sha256(keyBlob: [UInt8](blob))
            }
            return .mismatch(expectedFingerprint: expected)
        case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
            return .notFound
        default:
            throw SSHSession.lastError(session, kind: .knownHostsFile, function: "libssh2_knownhost_checkp")
        }
    }

    /// Checks the key ignoring its type: a different key of any type for the host is a mismatch.
    private static func checkAnyType(
        session: OpaquePointer, path: String, host: String, port: Int, key: UnsafePointer<CChar>, keyLength: Int
    ) throws(SSHError) -> Outcome {
        try check(session: session, path: path, host: host, port: port, key: key, keyLength: keyLength, typeMask: 0)
    }

    /// Host key algorithms in the order to offer them: those already recorded for the host first,
    /// then libssh2's others with ed25519 preferred, so a known host is asked for the key type on file.
    static func preferredAlgorithms(path: String, host: String, port: Int) -> String {
        let defaults = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa"]
        let names = port == 22 ? [host, "[\(host)]:22"] : ["[\(host)]:\(port)"]
        var known: [String] = []
        let contents = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        for line in contents.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, !fields[0].hasPrefix("#") else { continue }
            let hosts = fields[0].split(separator: ",").map(String.init)
            let type = String(fields[1])
            if hosts.contains(where: names.contains), defaults.contains(type), !known.contains(type) {
                known.append(type)
            }
        }
        return (known + defaults.filter { !known.contains($0) }).joined(separator: ",")
    }

    private static func record(
        session: OpaquePointer, path: String, host: String, port: Int, key: UnsafePointer<CChar>, keyLength: Int,
        typeMask: Int32
    ) throws(SSHError) {
        let hosts = try load(session: session, path: path)
        defer { libssh2_knownhost_free(hosts) }
        let name = port == 22 ? host : "[\(host)]:\(port)"
        let typeBits = LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | typeMask
        let added = libssh2_knownhost_addc(hosts, name, nil, key, keyLength, nil, 0, typeBits, nil)
        if added != 0 {
            throw SSHSession.lastError(session, kind: .knownHostsFile, function: "libssh2_knownhost_addc")
        }
        let temporary = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        if libssh2_knownhost_writefile(hosts, temporary, LIBSSH2_KNOWNHOST_FILE_OPENSSH) != 0 {
            let error = SSHSession.lastError(session, kind: .knownHostsFile, function: "libssh2_knownhost_writefile")
            unlink(temporary)
            throw SSHError(
                kind: .knownHostsFile, code: error.code, message: "cannot write \(temporary): \(error.message)",
                function: error.function)
        }
        if rename(temporary, path) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw SSHError(kind: .knownHostsFile, message: "cannot replace \(path): \(reason)", function: "rename")
        }
    }

    private static func lockFile(_ path: String) throws(SSHError) -> Int32 {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            let reason = String(cString: strerror(errno))
            throw SSHError(kind: .knownHostsFile, message: "cannot open lock file \(path): \(reason)", function: "open")
        }
        while flock(descriptor, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let reason = String(cString: strerror(errno))
            Glibc.close(descriptor)
            throw SSHError(kind: .knownHostsFile, message: "cannot lock \(path): \(reason)", function: "flock")
        }
        return descriptor
    }
}

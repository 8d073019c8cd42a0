import Foundation

/// A VM's SSH host keys, pinned from its serial console before the supervisor's first SSH connection.
///
/// The guest image prints `SOMNUS-SSH-HOST-KEY <type> <base64>` on the serial console at every boot
/// (`somnus-ssh-host-keys`); libvirt appends the console to `<vm dir>/console.log`. The first boot's lines (the
/// first line of each key type, up to the first type seen twice) become the VM's known-hosts file, 0600 from
/// its first byte; the file is never re-read from the console once it exists, so a root guest printing other
/// keys later changes nothing. Trust belongs to the VM, not to an address: before every connection the host
/// field of each pinned line is rewritten to the address (and port) in use, keeping the keys.
public struct HostKeyPin: Sendable, Equatable {
    /// The marker the guest prints before each key.
    public static let consoleMarker = "SOMNUS-SSH-HOST-KEY"
    /// The key types accepted from the console.
    static let keyTypes: Set<String> = [
        "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa",
    ]

    /// One pinned key.
    public struct Key: Sendable, Equatable {
        /// The key type, e.g. `ssh-ed25519`.
        public var type: String
        /// The base64 key blob.
        public var base64: String
    }

    /// The keys, in the order they were printed.
    public var keys: [Key]

    /// The first boot's keys in a console log: the first line of each type, stopping at the first type seen
    /// again (the next boot's print). Lines whose blob is not base64 are ignored.
    /// - Parameter consoleLog: The console log's text.
    /// - Returns: The keys, empty when none has been printed yet.
    public static func firstBootKeys(consoleLog: String) -> [Key] {
        var keys: [Key] = []
        // `\r\n` is one Character in Swift: split on every newline character, serial line endings included.
        for rawLine in consoleLog.split(whereSeparator: \.isNewline) {
            let fields = rawLine.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 3, fields[0] == consoleMarker else { continue }
            let type = String(fields[1])
            let base64 = String(fields[2])
            guard keyTypes.contains(type), let blob = Data(base64Encoded: base64), !blob.isEmpty else { continue }
            if keys.contains(where: { $0.type == type }) { break }
            keys.append(Key(type: type, base64: base64))
        }
        return keys
    }

    /// The keys of a known-hosts file, whatever host names its lines carry.
    static func keys(knownHosts: String) -> [Key] {
        knownHosts.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 3, !fields[0].hasPrefix("#"), keyTypes.contains(String(fields[1])) else {
                return nil
            }
            return Key(type: String(fields[1]), base64: String(fields[2]))
        }
    }

    /// The known-hosts text for these keys at one address.
    func knownHosts(host: String, port: Int) -> String {
        let name = port == 22 ? host : "[\(host)]:\(port)"
        return keys.map { "\(name) \($0.type) \($0.base64)\n" }.joined()
    }

    /// Makes the VM's known-hosts file hold its pinned keys for `host`:`port`: pins them from the console log
    /// when the file does not exist yet, and otherwise rewrites only the host field of the keys already pinned.
    /// - Parameters:
    ///   - knownHostsPath: The VM's known-hosts file.
    ///   - consoleLogPath: The VM's serial console log.
    ///   - host: The address about to be connected to.
    ///   - port: The sshd port.
    /// - Returns: The pin, or `nil` when nothing is pinned and the console shows no key yet (the guest is still
    ///   booting).
    /// - Throws: ``SupervisorError/Code/hostCommand`` when a file cannot be read or written.
    public static func prepare(
        knownHostsPath: String, consoleLogPath: String, host: String, port: Int
    ) throws(SupervisorError) -> HostKeyPin? {
        let pinned: [Key]
        if FileManager.default.fileExists(atPath: knownHostsPath) {
            let text: String
            do {
                text = try String(contentsOfFile: knownHostsPath, encoding: .utf8)
            } catch {
                throw SupervisorError(.hostCommand, "cannot read \(knownHostsPath)", cause: error)
            }
            pinned = keys(knownHosts: text)
            guard !pinned.isEmpty else {
                throw SupervisorError(
                    .invalidState,
                    "\(knownHostsPath) holds no host key; remove it to pin the keys from \(consoleLogPath) again")
            }
            let pin = HostKeyPin(keys: pinned)
            let wanted = pin.knownHosts(host: host, port: port)
            if text != wanted {
                try HostFiles.writePrivate(Array(wanted.utf8), to: knownHostsPath)
            }
            return pin
        }
        guard let data = FileManager.default.contents(atPath: consoleLogPath) else { return nil }
        let console = String(decoding: data, as: UTF8.self)
        pinned = firstBootKeys(consoleLog: console)
        guard !pinned.isEmpty else { return nil }
        let pin = HostKeyPin(keys: pinned)
        try HostFiles.writePrivate(Array(pin.knownHosts(host: host, port: port).utf8), to: knownHostsPath)
        return pin
    }
}

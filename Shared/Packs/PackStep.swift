import FoundationEssentials

/// One ordered step of a pack; in JSON an object with exactly one key: `apt`, `pip`, `files` or `shell`.
public enum PackStep: Codable, Sendable, Hashable, CustomStringConvertible {
    /// `{"apt":{"packages":[…],"timeout_s":N}}`: Debian packages installed with `apt-get install
    /// --no-install-recommends`; `apt-get update` and the install each get `timeout_s` (1…7200, default 1800).
    case apt(packages: [String], timeoutSeconds: Int = PackStep.defaultPackageTimeout)
    /// `{"pip":{"packages":[…],"timeout_s":N}}`: Python requirements installed into the pack's own virtual
    /// environment `/opt/somnus/packs/NAME/venv`, never into the system's Python, within `timeout_s`.
    case pip(packages: [String], timeoutSeconds: Int = PackStep.defaultPackageTimeout)
    /// `{"files":[{"path","content","mode"}]}`: files written atomically.
    case files([PackFile])
    /// `{"shell":{"command","timeout_s"}}`: a command run with `/bin/sh -c`.
    case shell(PackShellStep)

    /// The keys a step object may have.
    static let kinds = ["apt", "files", "pip", "shell"]
    /// Seconds an `apt` or `pip` command may run when the step names no `timeout_s`.
    public static let defaultPackageTimeout = 1800
    /// The longest `timeout_s` an `apt` or `pip` step may set.
    static let maximumPackageTimeout = 7200

    /// The longest the step's commands may run in total, in seconds (`files` steps count as none).
    public var timeoutSeconds: Int {
        switch self {
        // apt-get update, then apt-get install.
        case .apt(_, let timeout): 2 * timeout
        // The venv is created within 600 s, then pip installs.
        case .pip(_, let timeout): 600 + timeout
        case .files: 0
        case .shell(let shell): shell.timeoutSeconds
        }
    }

    /// The step's kind: `apt`, `pip`, `files` or `shell`.
    public var kind: String {
        switch self {
        case .apt: "apt"
        case .pip: "pip"
        case .files: "files"
        case .shell: "shell"
        }
    }

    /// A one-line summary for progress reports, such as `apt: git curl jq`.
    public var description: String {
        switch self {
        case .apt(let packages, _): "apt: \(packages.joined(separator: " "))"
        case .pip(let packages, _): "pip: \(packages.joined(separator: " "))"
        case .files(let files): "files: \(files.map(\.path).joined(separator: " "))"
        case .shell(let shell):
            "shell: \(shell.command.count > 80 ? String(shell.command.prefix(77)) + "..." : shell.command)"
        }
    }

    private struct Packages: Codable {
        var packages: [String]
        var timeoutSeconds: Int?

        enum CodingKeys: String, CodingKey {
            case packages
            case timeoutSeconds = "timeout_s"
        }
    }

    /// Decodes a step, refusing unknown keys and invalid values.
    /// - Parameter decoder: The decoder.
    /// - Throws: A problem naming the field.
    public init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: PackAnyKey.self)
        let keys = all.allKeys.map(\.stringValue).sorted()
        if let unknown = keys.first(where: { !Self.kinds.contains($0) }) {
            throw PackFieldProblem(
                code: .unknownKey, path: decoder.codingPath + [PackAnyKey(stringValue: unknown)],
                problem: "is not a known step kind (known: \(Self.kinds.joined(separator: ", ")))")
        }
        guard keys.count == 1, let kind = keys.first else {
            throw PackFieldProblem(
                code: .invalidField, path: decoder.codingPath,
                problem: "must have exactly one of \(Self.kinds.joined(separator: ", "))")
        }
        let key = PackAnyKey(stringValue: kind)
        switch kind {
        case "apt", "pip":
            let nested = try all.superDecoder(forKey: key)
            try nested.rejectUnknownKeys(["packages", "timeout_s"])
            let container = try nested.container(keyedBy: PackAnyKey.self)
            let packagesKey = PackAnyKey(stringValue: "packages")
            let packages = try container.decode([String].self, forKey: packagesKey)
            guard !packages.isEmpty else { throw container.problem(packagesKey, "must not be empty") }
            for (index, package) in packages.enumerated() {
                let valid = kind == "apt" ? PackRules.isDebianPackage(package) : PackRules.isPipRequirement(package)
                guard valid else {
                    throw PackFieldProblem(
                        code: .invalidField,
                        path: container.codingPath + [packagesKey, PackAnyKey(intValue: index)],
                        problem: kind == "apt"
                            ? "'\(package)' is not a Debian package name" : "'\(package)' is not a pip requirement")
                }
            }
            if Set(packages).count != packages.count {
                throw container.problem(packagesKey, "must not name a package twice")
            }
            let timeoutKey = PackAnyKey(stringValue: "timeout_s")
            let timeout = try container.decodeIfPresent(Int.self, forKey: timeoutKey) ?? Self.defaultPackageTimeout
            guard (1...Self.maximumPackageTimeout).contains(timeout) else {
                throw container.problem(timeoutKey, "must be 1…\(Self.maximumPackageTimeout), not \(timeout)")
            }
            self =
                kind == "apt"
                ? .apt(packages: packages, timeoutSeconds: timeout) : .pip(packages: packages, timeoutSeconds: timeout)
        case "files":
            let files = try all.decode([PackFile].self, forKey: key)
            guard !files.isEmpty else { throw all.problem(key, "must not be empty") }
            self = .files(files)
        default:
            self = .shell(try all.decode(PackShellStep.self, forKey: key))
        }
    }

    /// Encodes the step in the pack file's format.
    /// - Parameter encoder: The encoder.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: PackAnyKey.self)
        let key = PackAnyKey(stringValue: kind)
        switch self {
        case .apt(let packages, let timeout), .pip(let packages, let timeout):
            let explicit = timeout == Self.defaultPackageTimeout ? nil : timeout
            try container.encode(Packages(packages: packages, timeoutSeconds: explicit), forKey: key)
        case .files(let files): try container.encode(files, forKey: key)
        case .shell(let shell): try container.encode(shell, forKey: key)
        }
    }
}

/// One file of a `files` step.
public struct PackFile: Codable, Sendable, Hashable {
    /// The absolute path to write; parent directories are created.
    public var path: String
    /// The file's whole content (UTF-8).
    public var content: String
    /// The permission bits in octal, such as `0644` (the default) or `0755`.
    public var mode: String

    /// Creates a file entry.
    /// - Parameters:
    ///   - path: An absolute path without `..` components.
    ///   - content: The file's text.
    ///   - mode: Octal permission bits.
    public init(path: String, content: String, mode: String = "0644") {
        self.path = path
        self.content = content
        self.mode = mode
    }

    /// ``mode`` as a number, or `nil` when it is not octal up to `07777`.
    public var permissions: UInt32? {
        guard (3...4).contains(mode.count), let value = UInt32(mode, radix: 8), value <= 0o7777 else { return nil }
        return value
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case path, content, mode
    }

    /// Decodes a file entry, refusing unknown keys and invalid values.
    /// - Parameter decoder: The decoder.
    /// - Throws: A problem naming the field.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        path = try container.decode(String.self, forKey: .path)
        content = try container.decode(String.self, forKey: .content)
        mode = try container.decodeIfPresent(String.self, forKey: .mode) ?? "0644"
        let components = path.split(separator: "/", omittingEmptySubsequences: true)
        guard path.hasPrefix("/"), !components.isEmpty, !components.contains(".."), !components.contains("."),
            !path.contains("\0"), !path.hasSuffix("/")
        else {
            throw container.problem(.path, "must be an absolute file path without '.' or '..', not '\(path)'")
        }
        guard permissions != nil else {
            throw container.problem(.mode, "must be octal permission bits such as 0644, not '\(mode)'")
        }
    }
}

/// A `shell` step.
public struct PackShellStep: Codable, Sendable, Hashable {
    /// The command line, run with `/bin/sh -c`; a non-zero exit fails the step.
    public var command: String
    /// Seconds after which the command's process group is killed and the step fails (1…3600, default 600).
    public var timeoutSeconds: Int

    /// Creates a shell step.
    /// - Parameters:
    ///   - command: The command line.
    ///   - timeoutSeconds: 1…3600.
    public init(command: String, timeoutSeconds: Int = 600) {
        self.command = command
        self.timeoutSeconds = timeoutSeconds
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case command
        case timeoutSeconds = "timeout_s"
    }

    /// Decodes a shell step, refusing unknown keys and invalid values.
    /// - Parameter decoder: The decoder.
    /// - Throws: A problem naming the field.
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.allCases.map(\.rawValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        command = try container.decode(String.self, forKey: .command)
        timeoutSeconds = try container.decodeIfPresent(Int.self, forKey: .timeoutSeconds) ?? 600
        guard !command.allSatisfy(\.isWhitespace) else {
            throw container.problem(.command, "must not be empty")
        }
        guard (1...3600).contains(timeoutSeconds) else {
            throw container.problem(.timeoutSeconds, "must be 1…3600, not \(timeoutSeconds)")
        }
    }
}

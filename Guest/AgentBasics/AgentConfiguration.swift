public import AgentAPI
public import FoundationEssentials

/// Where a listener binds: `HOST:PORT`, with IPv6 hosts in brackets (`[::]:9901`).
public struct AgentListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host or address to bind, without brackets.
    public var host: String
    /// The TCP port; `0` lets the kernel choose.
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`.
    /// - Parameter text: Such as `0.0.0.0:9901`, `127.0.0.1:0` or `[::1]:9901`.
    /// - Throws: ``AgentError`` (`invalid_configuration`) naming the text when it is malformed.
    public init(parsing text: String) throws(AgentError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw AgentError(.invalidConfiguration, "listen: '\(text)' is not HOST:PORT")
        }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else {
            throw AgentError(.invalidConfiguration, "listen: '\(text)' is not HOST:PORT with a port 0…65535")
        }
        self.init(host: host, port: port)
    }

    /// `HOST:PORT`, bracketing IPv6 hosts.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Everything `somnus-agent serve` needs, folded from defaults, the JSON file and flags, and validated.
public struct AgentConfiguration: Sendable, Equatable {
    /// The default configuration file.
    public static let defaultPath = "/etc/somnus/agent.json"

    /// The TCP listener for the host (`listen`).
    public var listen: AgentListenAddress
    /// The file holding the bearer token (`token_file`).
    public var tokenFile: String
    /// The directory of the TCP listener's TLS files (`tls_dir`), named in ``AgentTLSFiles``; without them the
    /// listener speaks plain HTTP.
    public var tlsDirectory: String
    /// The unix socket for clients inside the VM (`socket`).
    public var socketPath: String
    /// The agent's state directory (`data_dir`).
    public var dataDirectory: String
    /// systemd units whose state and usage `/v1/stats` reports (`monitored_units`).
    public var monitoredUnits: [String]
    /// Log files the agent watches, by name (`log_files`).
    public var logFiles: [String: String]
    /// Whether the agent reads the journal (`journal`).
    public var journal: Bool
    /// Seconds between monitor samples (`monitor_interval_seconds`).
    public var monitorInterval: Duration
    /// The directory of the agent's own pack files, `NAME.json` (`packs_dir`).
    public var packsDirectory: String
    /// The directory packs install into (`packs_root`): `files` steps write under it and pack venvs live in
    /// `<packs_root>/opt/somnus/packs`; `/` on a real guest, a temporary directory in tests. apt always installs
    /// system-wide.
    public var packsRoot: String

    /// Creates a configuration; every parameter has the documented default.
    public init(
        listen: AgentListenAddress = AgentListenAddress(host: "0.0.0.0", port: 9901),
        tokenFile: String = "/etc/somnus/agent.token",
        tlsDirectory: String = AgentTLSFiles.defaultDirectory,
        socketPath: String = "/run/somnus/agent.sock",
        dataDirectory: String = "/var/lib/somnus-agent",
        monitoredUnits: [String] = [],
        logFiles: [String: String] = [:],
        journal: Bool = true,
        monitorInterval: Duration = .seconds(5),
        packsDirectory: String = "/etc/somnus/packs",
        packsRoot: String = "/"
    ) {
        self.listen = listen
        self.tokenFile = tokenFile
        self.tlsDirectory = tlsDirectory
        self.socketPath = socketPath
        self.dataDirectory = dataDirectory
        self.monitoredUnits = monitoredUnits
        self.logFiles = logFiles
        self.journal = journal
        self.monitorInterval = monitorInterval
        self.packsDirectory = packsDirectory
        self.packsRoot = packsRoot
    }

    /// Values given on the command line; each overrides the file's key of the same meaning.
    public struct Overrides: Sendable, Equatable {
        /// `--listen`.
        public var listen: String?
        /// `--token-file`.
        public var tokenFile: String?
        /// `--tls-dir`.
        public var tlsDirectory: String?
        /// `--socket`.
        public var socketPath: String?
        /// `--data-dir`.
        public var dataDirectory: String?

        /// Creates overrides.
        public init(
            listen: String? = nil, tokenFile: String? = nil, tlsDirectory: String? = nil, socketPath: String? = nil,
            dataDirectory: String? = nil
        ) {
            self.listen = listen
            self.tokenFile = tokenFile
            self.tlsDirectory = tlsDirectory
            self.socketPath = socketPath
            self.dataDirectory = dataDirectory
        }
    }

    /// Where a running agent's configuration comes from, so that it can be read again.
    public struct Source: Sendable, Equatable {
        /// The JSON file.
        public var path: String
        /// The command line's values, which win over the file's again at each reload.
        public var overrides: Overrides

        /// Creates a source.
        public init(path: String, overrides: Overrides = Overrides()) {
            self.path = path
            self.overrides = overrides
        }

        /// Reads the file and applies the overrides.
        /// - Throws: ``AgentError`` (`invalid_configuration`) naming the key and the problem.
        public func load() throws(AgentError) -> AgentConfiguration {
            try AgentConfiguration.load(path: path, overrides: overrides)
        }
    }

    /// The keys a running agent takes from a new configuration, and those that wait for its next start.
    package static let reloadableKeys = ["journal", "log_files", "monitor_interval_seconds", "monitored_units"]

    /// This configuration with `new`'s reloadable keys (monitored units, log files, journal, monitor interval).
    /// - Returns: The configuration to run with, the reloadable keys that changed, and the other keys that changed
    ///   (they keep this configuration's values until the agent restarts).
    package func reloading(_ new: AgentConfiguration) -> (
        configuration: AgentConfiguration, changed: [String], restartRequired: [String]
    ) {
        var result = self
        result.monitoredUnits = new.monitoredUnits
        result.logFiles = new.logFiles
        result.journal = new.journal
        result.monitorInterval = new.monitorInterval
        let differing = [
            ("data_dir", dataDirectory != new.dataDirectory), ("journal", journal != new.journal),
            ("listen", listen != new.listen), ("log_files", logFiles != new.logFiles),
            ("monitor_interval_seconds", monitorInterval != new.monitorInterval),
            ("monitored_units", monitoredUnits != new.monitoredUnits),
            ("packs_dir", packsDirectory != new.packsDirectory),
            ("packs_root", packsRoot != new.packsRoot), ("socket", socketPath != new.socketPath),
            ("tls_dir", tlsDirectory != new.tlsDirectory), ("token_file", tokenFile != new.tokenFile),
        ].filter(\.1).map(\.0)
        return (
            result, differing.filter { Self.reloadableKeys.contains($0) },
            differing.filter { !Self.reloadableKeys.contains($0) }
        )
    }

    /// Loads the configuration file (a missing file means defaults) and applies the overrides.
    /// - Parameters:
    ///   - path: The JSON file.
    ///   - overrides: Flags from the command line.
    /// - Throws: ``AgentError`` (`invalid_configuration`) naming the key and the problem.
    public static func load(path: String, overrides: Overrides = Overrides()) throws(AgentError) -> AgentConfiguration {
        var configuration = AgentConfiguration()
        if FileManager.default.fileExists(atPath: path) {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw AgentError(.invalidConfiguration, "\(path): cannot be read", cause: error)
            }
            configuration = try parse(data, source: path)
        }
        return try configuration.applying(overrides)
    }

    /// This configuration with the command line's values in place of the file's.
    /// - Parameter overrides: Flags from the command line.
    /// - Throws: ``AgentError`` (`invalid_configuration`) naming the flag's key and the problem.
    public func applying(_ overrides: Overrides) throws(AgentError) -> AgentConfiguration {
        var configuration = self
        if let listen = overrides.listen { configuration.listen = try AgentListenAddress(parsing: listen) }
        if let tokenFile = overrides.tokenFile {
            configuration.tokenFile = try Self.nonEmpty(tokenFile, key: "token_file")
        }
        if let directory = overrides.tlsDirectory {
            configuration.tlsDirectory = try Self.absolute(directory, key: "tls_dir")
        }
        if let socket = overrides.socketPath { configuration.socketPath = try Self.nonEmpty(socket, key: "socket") }
        if let dataDirectory = overrides.dataDirectory {
            configuration.dataDirectory = try Self.nonEmpty(dataDirectory, key: "data_dir")
        }
        return configuration
    }

    /// Parses the JSON text of a configuration file over the defaults.
    /// - Parameters:
    ///   - data: The file's bytes.
    ///   - source: The file's name, used in messages.
    /// - Throws: ``AgentError`` (`invalid_configuration`) naming the key and the problem.
    public static func parse(_ data: Data, source: String = "configuration") throws(AgentError) -> AgentConfiguration {
        let file: ConfigurationFile
        do {
            file = try JSONDecoder().decode(ConfigurationFile.self, from: data)
        } catch let error as AgentError {
            throw error
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            let key = context.codingPath[0].stringValue
            throw AgentError(.invalidConfiguration, "\(key): must be \(expectations[key] ?? "of another type")")
        } catch let DecodingError.valueNotFound(_, context) where !context.codingPath.isEmpty {
            let key = context.codingPath[0].stringValue
            throw AgentError(.invalidConfiguration, "\(key): must be \(expectations[key] ?? "of another type")")
        } catch {
            throw AgentError(.invalidConfiguration, "\(source): not a valid JSON object", cause: error)
        }
        var configuration = AgentConfiguration()
        if let listen = file.listen { configuration.listen = try AgentListenAddress(parsing: listen) }
        if let tokenFile = file.tokenFile { configuration.tokenFile = try nonEmpty(tokenFile, key: "token_file") }
        if let directory = file.tlsDir { configuration.tlsDirectory = try absolute(directory, key: "tls_dir") }
        if let socket = file.socket { configuration.socketPath = try nonEmpty(socket, key: "socket") }
        if let dataDirectory = file.dataDir {
            configuration.dataDirectory = try nonEmpty(dataDirectory, key: "data_dir")
        }
        if let units = file.monitoredUnits {
            for unit in units where unit.isEmpty || unit.contains(where: { $0.isWhitespace || $0 == "/" }) {
                throw AgentError(.invalidConfiguration, "monitored_units: '\(unit)' is not a unit name")
            }
            configuration.monitoredUnits = units
        }
        if let files = file.logFiles {
            for (name, path) in files.sorted(by: { $0.key < $1.key }) where !path.hasPrefix("/") {
                throw AgentError(.invalidConfiguration, "log_files: '\(name)' must be an absolute path, not '\(path)'")
            }
            configuration.logFiles = files
        }
        if let journal = file.journal { configuration.journal = journal }
        if let seconds = file.monitorIntervalSeconds {
            guard seconds >= 1, seconds <= 3600 else {
                throw AgentError(
                    .invalidConfiguration, "monitor_interval_seconds: must be from 1 to 3600, not \(seconds)")
            }
            configuration.monitorInterval = .milliseconds(Int64(seconds * 1000))
        }
        if let directory = file.packsDir { configuration.packsDirectory = try absolute(directory, key: "packs_dir") }
        if let root = file.packsRoot { configuration.packsRoot = try absolute(root, key: "packs_root") }
        return configuration
    }

    /// The JSON text of this configuration, in the file's format.
    public func jsonText() -> String {
        let seconds = monitorInterval / .seconds(1)
        let file = ConfigurationFile(
            listen: listen.description,
            tokenFile: tokenFile,
            tlsDir: tlsDirectory,
            socket: socketPath,
            dataDir: dataDirectory,
            monitoredUnits: monitoredUnits,
            logFiles: logFiles,
            journal: journal,
            monitorIntervalSeconds: seconds,
            packsDir: packsDirectory,
            packsRoot: packsRoot
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(file)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private static func nonEmpty(_ text: String, key: String) throws(AgentError) -> String {
        guard !text.isEmpty else { throw AgentError(.invalidConfiguration, "\(key): must not be empty") }
        return text
    }

    private static func absolute(_ text: String, key: String) throws(AgentError) -> String {
        guard text.hasPrefix("/"), !text.contains("\0") else {
            throw AgentError(.invalidConfiguration, "\(key): must be an absolute path, not '\(text)'")
        }
        return text
    }

    /// What each key must hold, for messages.
    private static let expectations: [String: String] = [
        "listen": "a string",
        "token_file": "a string",
        "tls_dir": "a string",
        "socket": "a string",
        "data_dir": "a string",
        "monitored_units": "an array of strings",
        "log_files": "an object of name to path strings",
        "journal": "true or false",
        "monitor_interval_seconds": "a number",
        "packs_dir": "a string",
        "packs_root": "a string",
    ]
}

/// The file's keys as written; every key is optional and unknown keys are refused.
private struct ConfigurationFile: Codable {
    var listen: String?
    var tokenFile: String?
    var tlsDir: String?
    var socket: String?
    var dataDir: String?
    var monitoredUnits: [String]?
    var logFiles: [String: String]?
    var journal: Bool?
    var monitorIntervalSeconds: Double?
    var packsDir: String?
    var packsRoot: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen
        case tokenFile = "token_file"
        case tlsDir = "tls_dir"
        case socket
        case dataDir = "data_dir"
        case monitoredUnits = "monitored_units"
        case logFiles = "log_files"
        case journal
        case monitorIntervalSeconds = "monitor_interval_seconds"
        case packsDir = "packs_dir"
        case packsRoot = "packs_root"
    }

    init(
        listen: String?,
        tokenFile: String?,
        tlsDir: String?,
        socket: String?,
        dataDir: String?,
        monitoredUnits: [String]?,
        logFiles: [String: String]?,
        journal: Bool?,
        monitorIntervalSeconds: Double?,
        packsDir: String?,
        packsRoot: String?
    ) {
        self.listen = listen
        self.tokenFile = tokenFile
        self.tlsDir = tlsDir
        self.socket = socket
        self.dataDir = dataDir
        self.monitoredUnits = monitoredUnits
        self.logFiles = logFiles
        self.journal = journal
        self.monitorIntervalSeconds = monitorIntervalSeconds
        self.packsDir = packsDir
        self.packsRoot = packsRoot
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        if let unknown = all.allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw AgentError(.invalidConfiguration, "\(unknown): unknown key")
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        listen = try container.decodeIfPresent(String.self, forKey: .listen)
        tokenFile = try container.decodeIfPresent(String.self, forKey: .tokenFile)
        tlsDir = try container.decodeIfPresent(String.self, forKey: .tlsDir)
        socket = try container.decodeIfPresent(String.self, forKey: .socket)
        dataDir = try container.decodeIfPresent(String.self, forKey: .dataDir)
        monitoredUnits = try container.decodeIfPresent([String].self, forKey: .monitoredUnits)
        logFiles = try container.decodeIfPresent([String: String].self, forKey: .logFiles)
        journal = try container.decodeIfPresent(Bool.self, forKey: .journal)
        monitorIntervalSeconds = try container.decodeIfPresent(Double.self, forKey: .monitorIntervalSeconds)
        packsDir = try container.decodeIfPresent(String.self, forKey: .packsDir)
        packsRoot = try container.decodeIfPresent(String.self, forKey: .packsRoot)
    }
}

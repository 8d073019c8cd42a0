import AgentAPI
import AgentBasics
import AgentJobs
import AgentLogMonitor
import AgentSystem
import Crypto
import FoundationEssentials
import LogClassifier
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// What every handler and service of one agent process shares.
final class AgentState: Sendable {
    /// The configuration in force: the one the agent started with, with the reloadable keys of the latest reload.
    var configuration: AgentConfiguration { current.withLock { $0 } }
    /// Counts reloads, so that the monitor notices a new configuration.
    var configurationGeneration: Int { generation.load(ordering: .acquiring) }
    /// Where the configuration is read again from, or `nil` when there is nothing to reload (in-process agents).
    let configurationSource: AgentConfiguration.Source?
    private let current: Mutex<AgentConfiguration>
    private let generation = Atomic<Int>(0)
    /// The bearer token, or `nil` when the token file is missing or unreadable (the TCP listener then refuses
    /// every authenticated route).
    let token: [UInt8]?
    /// Why ``token`` is `nil`.
    let tokenProblem: String?
    let jobs: ExecJobTable
    /// The event ring, shared with the job table.
    var events: AgentEventLog { jobs.events }
    let maintenance: AgentMaintenanceOptions
    let freeze: FreezeState
    let metrics = AgentMetrics()
    /// Pack installs (`/v1/packs`).
    let packs: PackJobTable
    /// The log classifier shared by the error monitor and `POST /v1/classify`.
    let classifier: LogClassifier
    /// Classified errors from the configured log files and the journal.
    let errors: ErrorStore
    let startedAt = ContinuousClock.now
    let baseFeatures = [
        "exec", "stats", "health", "events", "time", "fs_freeze", "soft_reboot", "metrics", "packs", "errors",
        "classify",
    ]
    /// The open connections of the TCP listener, capped.
    let tcpConnections: AgentConnectionLimiter
    /// The open connections of the unix-socket listener, capped.
    let unixConnections: AgentConnectionLimiter
    /// The memory store, whether it is still opening, or why it is unavailable (the memory routes then answer 503).
    let memory: AgentMemory
    /// What this agent offers; `memory` only while the store is open, `memory_opening` while it opens.
    var features: [String] {
        switch memory.phase {
        case .ready: baseFeatures + ["memory"]
        case .opening: baseFeatures + ["memory_opening"]
        case .unavailable: baseFeatures
        }
    }
    private let latestStats = Mutex<StatsResponse?>(nil)
    private let cachedSHA256 = Mutex<String?>(nil)

    init(
        configuration: AgentConfiguration,
        configurationSource: AgentConfiguration.Source? = nil,
        jobs: ExecJobTable,
        maintenance: AgentMaintenanceOptions = AgentMaintenanceOptions(),
        memory: AgentMemory = AgentMemory(.unavailable("the memory store was not opened")),
        connectionCap: Int = AgentConnectionOptions().maxConnectionsPerListener
    ) {
        self.current = Mutex(configuration)
        self.configurationSource = configurationSource
        self.tcpConnections = AgentConnectionLimiter(capacity: connectionCap)
        self.unixConnections = AgentConnectionLimiter(capacity: connectionCap)
        self.memory = memory
        self.jobs = jobs
        self.maintenance = maintenance
        self.freeze = FreezeState(freezer: maintenance.freezer, events: jobs.events, runner: jobs.runner)
        self.packs = PackJobTable(
            runner: jobs.runner, catalogDirectory: configuration.packsDirectory,
            dataDirectory: configuration.dataDirectory,
            settings: PackInstallSettings(root: configuration.packsRoot, killGrace: jobs.killGrace),
            events: jobs.events)
        self.classifier = LogClassifier()
        self.errors = ErrorStore(classifier: classifier)
        let (token, problem) = Self.readToken(configuration.tokenFile)
        self.token = token
        self.tokenProblem = problem
    }

    /// Reads the configuration file again and puts its reloadable keys in force; nothing changes when the file is
    /// refused.
    /// - Throws: ``AgentError`` `invalid_configuration` naming the key and the problem, `conflict` when the agent
    ///   has no file to read.
    func reloadConfiguration() throws(AgentError) -> ConfigReloadResponse {
        guard let configurationSource else {
            throw AgentError(.conflict, "this agent was started without a configuration file to read again")
        }
        let new = try configurationSource.load()
        let outcome = current.withLock { configuration in
            let outcome = configuration.reloading(new)
            configuration = outcome.configuration
            return outcome
        }
        generation.add(1, ordering: .releasing)
        events.record(
            AgentEventKind.configReloaded, "configuration read again from \(configurationSource.path)",
            metadata: [
                "changed": outcome.changed.joined(separator: ","),
                "restart_required": outcome.restartRequired.joined(separator: ","),
            ])
        return ConfigReloadResponse(changed: outcome.changed, restartRequired: outcome.restartRequired)
    }

    /// The newest monitor sample, `nil` before the first tick.
    var stats: StatsResponse? { latestStats.withLock { $0 } }

    func record(_ stats: StatsResponse) {
        latestStats.withLock { $0 = stats }
    }

    /// Hex sha256 of `/proc/self/exe`, computed once, read in 1 MiB chunks. Blocking: call it on a thread pool.
    func binarySHA256() -> String {
        if let known = cachedSHA256.withLock({ $0 }) { return known }
        var hasher = SHA256()
        let descriptor = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            defer { close(descriptor) }
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else { break }
                chunk.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            }
        }
        let digits = Array("0123456789abcdef")
        var hex = ""
        for byte in hasher.finalize() {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0xf)])
        }
        cachedSHA256.withLock { $0 = hex }
        return hex
    }

    /// Compares a presented token with the configured one in time independent of where they differ.
    func accepts(token presented: Substring) -> Bool {
        guard let token else { return false }
        let bytes = Array(presented.utf8)
        var difference = UInt8(truncatingIfNeeded: bytes.count ^ token.count)
        for index in 0..<max(bytes.count, token.count) {
            let left = index < bytes.count ? bytes[index] : 0
            let right = index < token.count ? token[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }

    private static func readToken(_ path: String) -> ([UInt8]?, String?) {
        guard let data = FileManager.default.contents(atPath: path) else {
            return (nil, "the token file \(path) is missing or unreadable")
        }
        let token = String(decoding: data, as: UTF8.self).trimmed
        guard !token.isEmpty else { return (nil, "the token file \(path) is empty") }
        return (Array(token.utf8), nil)
    }
}

import AgentAPI
public import AgentBasics
import AgentJobs
public import AgentSystem
import FoundationEssentials
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Systemd
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The whole agent: the TCP and unix-socket listeners, the job runner, the monitor and the systemd notifier in one
/// `ServiceGroup`.
///
/// READY=1 is sent only after both listeners are bound; WATCHDOG=1 every half watchdog interval; STOPPING=1
/// when graceful shutdown (SIGTERM, SIGINT) begins. Graceful shutdown stops the services in reverse order, so the
/// job runner cancels running jobs (and thaws a freeze) while both listeners still answer.
public struct AgentServer: Sendable {
    /// The validated configuration.
    public let configuration: AgentConfiguration
    /// Where the configuration is read again from on SIGHUP and `POST /v1/config/reload`, or `nil`.
    public let configurationSource: AgentConfiguration.Source?
    private let logger: Logger
    private let killGrace: Duration
    private let handleSignals: Bool
    private let maintenance: AgentMaintenanceOptions
    private let connections: AgentConnectionOptions
    /// Runs on the memory store's opening thread before the open (tests hold the store in `memory_opening`).
    var memoryWillOpen: (@Sendable () -> Void)?

    /// Creates the agent.
    /// - Parameters:
    ///   - configuration: The validated configuration.
    ///   - configurationSource: Where to read it again on a reload; `nil` refuses reloads.
    ///   - logger: The logger of the agent and its listeners.
    ///   - execKillGrace: Time between SIGTERM and SIGKILL when an exec job is stopped.
    ///   - handleSignals: Whether SIGTERM and SIGINT start a graceful shutdown (off in tests, which cancel).
    ///   - maintenance: The filesystem freezer and `systemctl` of the maintenance routes.
    ///   - connections: The idle timeout, the per-listener connection cap and the unix socket's group.
    public init(
        configuration: AgentConfiguration,
        configurationSource: AgentConfiguration.Source? = nil,
        logger: Logger,
        execKillGrace: Duration = .seconds(5),
        handleSignals: Bool = true,
        maintenance: AgentMaintenanceOptions = AgentMaintenanceOptions(),
        connections: AgentConnectionOptions = AgentConnectionOptions()
    ) {
        self.maintenance = maintenance
        self.connections = connections
        self.configuration = configuration
        self.configurationSource = configurationSource
        self.logger = logger
        self.killGrace = execKillGrace
        self.handleSignals = handleSignals
    }

    /// Runs until SIGTERM/SIGINT (or cancellation of the calling task).
    ///
    /// Before serving, it thaws every filesystem the freezer lists (a previous agent may have been killed while
    /// they were frozen) and makes the data directory (mode 0700; a failure is logged, not fatal).
    /// - Parameters:
    ///   - onReady: Called once both listeners are bound, before READY=1 is sent.
    ///   - onSettled: Called once start-up is over: after `onReady`, the memory store's open has finished (or
    ///     failed) and the monitor has sampled once.
    ///   - onFirstAnswer: Called once after `onSettled`, when a request has been answered and none has been for
    ///     2 s since. The first requests run much that later ones do not: the connection's set-up and the type
    ///     metadata of the request path are made once.
    /// - Throws: ``AgentError`` when a listener cannot be bound or the socket's directory cannot be made.
    public func run(
        onReady: @escaping @Sendable (AgentEndpoints) async -> Void = { _ in },
        onSettled: @escaping @Sendable () async -> Void = {},
        onFirstAnswer: @escaping @Sendable () async -> Void = {}
    ) async throws {
        // The store opens in the background once both listeners are bound (see onReady below).
        let memory = AgentMemory()
        let runner = JobRunnerService()
        let state = AgentState(
            configuration: configuration, configurationSource: configurationSource,
            jobs: ExecJobTable(runner: runner, killGrace: killGrace), maintenance: maintenance, memory: memory,
            connectionCap: connections.maxConnectionsPerListener)
        state.events.record(
            AgentEventKind.agentStarted, "agent \(AgentProtocol.somnusVersion) started",
            metadata: ["pid": "\(getpid())"])
        if let problem = state.tokenProblem {
            logger.warning(
                "Agent token unusable, TCP listener refuses all requests",
                metadata: ["agent.token.problem": "\(problem)"])
        }
        let thawed = await state.freeze.thawEverything()
        if !thawed.isEmpty {
            logger.warning(
                "Thawed filesystems left frozen by a previous agent",
                metadata: ["agent.fs.thawed": "\(thawed.joined(separator: ","))"])
        }
        let socketPath = configuration.socketPath
        let directory = socketPath.parentDirectory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw AgentError(.io, "cannot create the socket directory \(directory)", cause: error)
        }
        do {
            try Self.makePrivateDirectory(configuration.dataDirectory)
        } catch {
            // The agent still serves health; the memory store reports its own failure to open.
            logger.error(
                "Data directory cannot be made private",
                metadata: ["agent.data.directory": "\(configuration.dataDirectory)", "agent.error": "\(error)"])
        }
        let socketGroup = connections.socketGroup.flatMap(Self.groupID(named:))
        let idleTimeout = TimeAmount.nanoseconds(
            connections.idleTimeout.components.seconds * 1_000_000_000
                + connections.idleTimeout.components.attoseconds / 1_000_000_000)
        let tcpLimiter = state.tcpConnections
        let unixLimiter = state.unixConnections

        // Trapped before READY=1: a `systemctl reload` right after the start must not end the agent (SIGHUP's
        // default action).
        let hangups = handleSignals ? await UnixSignalsSequence(trapping: .sighup) : nil
        let (bound, boundContinuation) = AsyncStream<AgentEndpointPart>.makeStream()
        let logger = logger
        let tcpHTTP = HTTPServerBuilder.http1(
            configuration: .init(additionalChannelHandlers: [tcpLimiter.makeHandler()], idleTimeout: idleTimeout))
        let tcpServer: HTTPServerBuilder
        if let tls = try AgentTLS.load(directory: configuration.tlsDirectory, logger: logger) {
            do {
                tcpServer = try .tls(tcpHTTP, configuration: tls.channel)
            } catch {
                throw AgentError(
                    .invalidConfiguration, "tls_dir: \(configuration.tlsDirectory) is unusable", cause: error)
            }
            logger.info("Agent TCP listener speaks mutual TLS", metadata: ["agent.tls.client": "\(tls.clientPin)"])
        } else {
            tcpServer = tcpHTTP
            logger.warning(
                "Agent TCP listener speaks plain HTTP: no TLS files",
                metadata: ["agent.tls.directory": "\(configuration.tlsDirectory)"])
        }
        let tcp = Application(
            router: buildRouter(state: state, listener: .tcp),
            server: tcpServer,
            configuration: .init(
                address: .hostname(configuration.listen.host, port: configuration.listen.port),
                serverName: "somnus-agent"
            ),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("Agent TCP listener bound", metadata: ["agent.listen.port": "\(port)"])
                boundContinuation.yield(.tcp(port))
            },
            logger: logger
        )
        let unix = Application(
            router: buildRouter(state: state, listener: .unixSocket),
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [unixLimiter.makeHandler()], idleTimeout: idleTimeout)),
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "somnus-agent"),
            onServerRunning: { _ in
                // Group members (none unless added on purpose) may connect; without the group, root only.
                if let socketGroup { chown(socketPath, uid_t.max, socketGroup) }
                chmod(socketPath, 0o660)
                logger.info("Agent unix socket bound", metadata: ["agent.socket.path": "\(socketPath)"])
                boundContinuation.yield(.unixSocket)
            },
            logger: logger
        )
        let memoryConfiguration = configuration
        let memoryWillOpen = memoryWillOpen
        let readied = Mutex(false)
        let notifier = AgentNotifierService(
            bound: bound,
            host: configuration.listen.host,
            socketPath: socketPath,
            onReady: { endpoints in
                memory.startOpening(configuration: memoryConfiguration, logger: logger, beforeOpen: memoryWillOpen)
                await onReady(endpoints)
                readied.withLock { $0 = true }
            },
            logger: logger
        )
        let metrics = state.metrics
        let settled = AgentSettledService(
            isSettled: { readied.withLock { $0 } && !memory.isOpening && state.stats != nil }, onSettled: onSettled,
            firstAnswer: { try await metrics.waitForQuietAfterFirstAnswer(.seconds(2)) },
            onFirstAnswer: onFirstAnswer)
        let group = ServiceGroup(
            configuration: .init(
                services: [tcp, unix, runner, AgentMonitorService(state: state, logger: logger), notifier, settled]
                    + (hangups.map { [AgentReloadSignalService(state: state, hangups: $0, logger: logger)] } ?? [])
                    + memory.services(logger: logger, holdsWrites: { state.freeze.holdsWrites }),
                gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                logger: logger
            )
        )
        try await group.run()
    }
}

extension AgentServer {
    /// Creates `path` (and its parents) and sets its mode to 0700, also when it already existed.
    /// - Throws: ``AgentError`` `io_error` naming the directory.
    static func makePrivateDirectory(_ path: String) throws(AgentError) {
        do {
            try FileManager.default.createDirectory(
                atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw AgentError(.io, "cannot create the data directory \(path)", cause: error)
        }
        guard chmod(path, 0o700) == 0 else {
            throw AgentError(.io, "cannot make the data directory \(path) private: \(String(cString: strerror(errno)))")
        }
    }

    /// The id of a group, or `nil` when it does not exist (`getgrnam_r`).
    static func groupID(named name: String) -> gid_t? {
        var record = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = buffer.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return EINVAL }
            return getgrnam_r(name, &record, base, buffer.count, &result)
        }
        guard status == 0, result != nil else { return nil }
        return record.gr_gid
    }
}

import Foundation
import HTTPTypes
import Hummingbird
public import Logging
import NIOCore
public import ServiceLifecycle

/// Serves ``SupervisorMetrics`` as `GET /metrics` (Prometheus text) on a loopback address, for `somnus daemon`.
public struct SupervisorMetricsServer: Service {
    /// The address it listens on.
    public let host: String
    /// The port it listens on; 0 for one the kernel picks.
    public let port: Int
    private let manager: VMManager
    private let metrics: SupervisorMetrics
    private let logger: Logger
    private let onReady: @Sendable (Int) async -> Void

    /// Creates the server.
    /// - Parameters:
    ///   - address: `HOST:PORT` on a loopback address (`127.0.0.1:9100`, `[::1]:9100`, `localhost:9100`).
    ///   - manager: Lists the VMs for `somnus_vms`.
    ///   - metrics: What the poller counted.
    ///   - logger: For the server's start.
    ///   - onReady: Called with the bound port.
    /// - Throws: ``SupervisorError/Code/invalidArgument`` for an address that is not `HOST:PORT` on loopback.
    public init(
        address: String, manager: VMManager, metrics: SupervisorMetrics, logger: Logger,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws(SupervisorError) {
        let (host, port) = AgentConnector.split(address)
        guard address.hasSuffix(":\(port)"), ["localhost", "::1"].contains(host) || host.hasPrefix("127.") else {
            throw SupervisorError(
                .invalidArgument,
                "--metrics-address: '\(address)' is not HOST:PORT on a loopback address (such as 127.0.0.1:9100); "
                    + "the fleet's metrics are not served beyond this host")
        }
        self.host = host
        self.port = port
        self.manager = manager
        self.metrics = metrics
        self.logger = logger
        self.onReady = onReady
    }

    public func run() async throws {
        let router = Router(context: BasicRequestContext.self)
        let manager = manager
        let metrics = metrics
        router.get("/metrics") { _, _ in
            let vms = (try? await manager.list()) ?? []
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.render(vms: vms))))
        }
        let onReady = onReady
        let logger = logger
        let host = host
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .critical)
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "somnus-daemon"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info("metrics serving", metadata: ["metrics.host": "\(host)", "metrics.port": "\(bound)"])
                await onReady(bound)
            },
            logger: serverLogger)
        try await application.run()
    }
}

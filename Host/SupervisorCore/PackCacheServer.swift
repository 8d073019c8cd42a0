import Foundation
import HTTPTypes
import Hummingbird
import Libvirt
public import Logging
import NIOCore
public import ServiceLifecycle

/// Serves a ``PackCache`` read-only over HTTP: `GET`/`HEAD` of files under `/apt/` and `/wheels/` (with
/// `/wheels/` answering its `index.html`); every other method is refused with 405 and every other path is 404.
///
/// Bind it to the VM network's host address only (``VMManager/packCacheAddress()``), never to every interface:
/// guests reach it on the private network and nothing else does. It is a `Service`: run it in a
/// `ServiceGroup` (`somnus daemon`) or call ``run()`` in a task that is cancelled when done.
public struct PackCacheServer: Service {
    /// The default TCP port.
    public static let defaultPort = 9902

    /// The cache served.
    public let cache: PackCache
    /// The address bound.
    public let host: String
    /// The port asked for; `0` lets the kernel choose.
    public let port: Int
    private let logger: Logger
    private let onReady: @Sendable (Int) async -> Void

    /// Creates a server.
    /// - Parameters:
    ///   - cache: The cache to serve.
    ///   - host: The address to bind, such as `192.168.213.1` (`127.0.0.1` in tests).
    ///   - port: The port; `0` lets the kernel choose.
    ///   - logger: The server's logger.
    ///   - onReady: Called with the bound port once the listener is up.
    public init(
        cache: PackCache, host: String, port: Int = PackCacheServer.defaultPort, logger: Logger,
        onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.cache = cache
        self.host = host
        self.port = port
        self.logger = logger
        self.onReady = onReady
    }

    /// Serves until cancelled or shut down gracefully.
    /// - Throws: When the address cannot be bound (for example, the port is taken).
    public func run() async throws {
        try FileManager.default.createDirectory(atPath: cache.aptDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: cache.wheelsDirectory, withIntermediateDirectories: true)
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: PackCacheReadOnlyMiddleware())
        router.add(middleware: FileMiddleware(cache.root, searchForIndexHtml: true, logger: logger))
        let onReady = self.onReady
        let logger = self.logger
        let host = self.host
        // Hummingbird logs a cancelled shutdown as an error; bind failures are thrown, so keep its own logs quiet.
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .critical)
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "somnus-pack-cache"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info(
                    "pack cache serving", metadata: ["pack.cache.host": "\(host)", "pack.cache.port": "\(bound)"])
                await onReady(bound)
            },
            logger: serverLogger)
        try await application.run()
    }

    /// The URL guests use for a cache bound at `host:port`.
    /// - Parameters:
    ///   - host: The bound address.
    ///   - port: The bound port.
    /// - Returns: Such as `http://192.168.213.1:9902`.
    public static func url(host: String, port: Int) -> String {
        "http://\(host):\(port)"
    }
}

/// Lets only `GET` and `HEAD` of paths under `/apt/` and `/wheels/` through.
struct PackCacheReadOnlyMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            throw HTTPError(.methodNotAllowed, message: "the pack cache is read-only")
        }
        let path = request.uri.path
        guard path.hasPrefix("/apt/") || path.hasPrefix("/wheels/"), !path.contains("..") else {
            throw HTTPError(.notFound, message: "not in the pack cache")
        }
        return try await next(request, context)
    }
}

extension VMManager {
    /// The host's address on the VM network, read from the libvirt network's definition: the address the pack
    /// cache binds and guests reach.
    /// - Throws: ``SupervisorError/Code/libvirt`` when the network is missing or has no IPv4 address.
    public func packCacheAddress() async throws(SupervisorError) -> String {
        let name = configuration.network
        let xml = try await libvirt("read network '\(name)'") { connection in
            try connection.lookupNetwork(name: name).xmlDescription()
        }
        guard let address = PackCacheServer.hostAddress(networkXML: xml) else {
            throw SupervisorError(
                .libvirt, "the libvirt network '\(name)' has no IPv4 <ip address=…>; run provisioning/setup-host.sh")
        }
        return address
    }
}

extension PackCacheServer {
    /// The host's address in a libvirt network definition: the `address` of its first IPv4 `<ip>` element.
    /// - Parameter xml: The network's XML.
    /// - Returns: Such as `192.168.213.1`, or `nil` when there is none.
    public static func hostAddress(networkXML xml: String) -> String? {
        var rest = Substring(xml)
        while let start = rest.range(of: "<ip ") {
            let element = rest[start.upperBound...].prefix { $0 != ">" }
            for quote in ["'", "\""] {
                if let attribute = element.range(of: "address=" + quote) {
                    let value = element[attribute.upperBound...].prefix { String($0) != quote }
                    if value.split(separator: ".").count == 4 { return String(value) }
                }
            }
            rest = rest[start.upperBound...]
        }
        return nil
    }
}

extension PackCacheServer {
    /// Serves `cache` on `host` while `body` runs, then stops the server.
    ///
    /// Binds `port`; when that port is taken (a `somnus daemon` serving another state directory, say) it binds a
    /// port the kernel chooses instead and says so through `onFallback`.
    /// - Parameters:
    ///   - cache: The cache to serve.
    ///   - host: The address to bind.
    ///   - port: The preferred port.
    ///   - logger: The server's logger.
    ///   - onFallback: Told the port that was taken and why.
    ///   - body: Runs with the cache's URL (such as `http://192.168.213.1:9902`).
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws, or ``SupervisorError/Code/packFetch`` when no port can be bound.
    public static func serving<T: Sendable>(
        cache: PackCache, host: String, port: Int = PackCacheServer.defaultPort, logger: Logger,
        onFallback: @escaping @Sendable (Int, String) -> Void = { _, _ in },
        _ body: @escaping @Sendable (String) async throws(SupervisorError) -> T
    ) async throws(SupervisorError) -> T {
        var ports = [port]
        if port != 0 { ports.append(0) }
        var lastError: (any Error)?
        for candidate in ports {
            let outcome = await serveOnce(cache: cache, host: host, port: candidate, logger: logger, body)
            switch outcome {
            case .finished(let result): return try result.get()
            case .bindFailed(let error):
                lastError = error
                if candidate != 0 { onFallback(candidate, "\(error)") }
            }
        }
        throw SupervisorError(
            .packFetch, "cannot serve the pack cache on \(host) (is the libvirt network up?)", cause: lastError)
    }

    private enum ServeOutcome<T: Sendable>: Sendable {
        case finished(Result<T, SupervisorError>)
        case bindFailed(any Error)
    }

    private enum ServerEvent: Sendable {
        case ready(Int)
        case failed(any Error)
    }

    private static func serveOnce<T: Sendable>(
        cache: PackCache, host: String, port: Int, logger: Logger,
        _ body: @escaping @Sendable (String) async throws(SupervisorError) -> T
    ) async -> ServeOutcome<T> {
        let (events, continuation) = AsyncStream<ServerEvent>.makeStream()
        let server = PackCacheServer(cache: cache, host: host, port: port, logger: logger) { bound in
            continuation.yield(.ready(bound))
        }
        // Stopped by a graceful shutdown, never by cancellation: cancelling the listener's task while a guest's
        // connection waits to be accepted traps in NIO (an async channel released without being finished).
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .critical)
        let services = ServiceGroup(configuration: .init(services: [server], logger: quiet))
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await services.run()
                } catch {
                    continuation.yield(.failed(error))
                }
                continuation.finish()
            }
            var outcome: ServeOutcome<T> = .bindFailed(
                SupervisorError(.packFetch, "the pack cache server stopped before it was bound"))
            for await event in events {
                switch event {
                case .ready(let bound):
                    do throws(SupervisorError) {
                        outcome = .finished(.success(try await body(PackCacheServer.url(host: host, port: bound))))
                    } catch {
                        outcome = .finished(.failure(error))
                    }
                case .failed(let error):
                    outcome = .bindFailed(error)
                }
                break
            }
            // A guest that keeps a request open must not hold the command up: five seconds, then cancelled.
            await services.triggerGracefulShutdown()
            group.addTask { try? await Task.sleep(for: .seconds(5)) }
            _ = await group.next()
            group.cancelAll()
            return outcome
        }
    }
}

extension VMManager {
    /// The pack cache server `somnus daemon` runs: the state directory's cache on the VM network's host
    /// address and the default port; `nil` (with a warning) when the network has no usable address.
    /// - Parameter logger: The server's logger.
    public func packCacheServer(logger: Logger) async -> PackCacheServer? {
        do {
            let host = try await packCacheAddress()
            return PackCacheServer(cache: PackCache(layout: layout, logger: logger), host: host, logger: logger)
        } catch {
            logger.warning("pack cache not served", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

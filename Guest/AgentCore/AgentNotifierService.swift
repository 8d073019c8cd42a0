import Logging
import ServiceLifecycle
import Systemd

/// Tells systemd READY=1 once both listeners are bound, pings the watchdog, and sends STOPPING=1 when
/// graceful shutdown begins.
struct AgentNotifierService: Service {
    let bound: AsyncStream<AgentEndpointPart>
    let host: String
    let socketPath: String
    let onReady: @Sendable (AgentEndpoints) async -> Void
    let logger: Logger

    func run() async throws {
        let notifier = SystemdNotifier()
        var port: Int?
        var socketBound = false
        for await part in bound.cancelOnGracefulShutdown() {
            switch part {
            case .tcp(let value): port = value
            case .unixSocket: socketBound = true
            }
            if port != nil && socketBound { break }
        }
        guard let port, socketBound else { return }
        await onReady(AgentEndpoints(host: host, port: port, socketPath: socketPath))
        do {
            try notifier.notify([.ready, .status("serving on \(host):\(port) and \(socketPath)")])
        } catch {
            logger.warning("sd_notify failed", metadata: ["agent.error": "\(error)"])
        }
        let interval = (try? notifier.watchdogInterval()) ?? nil
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if let interval {
                try? notifier.notify(.watchdog)
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval / 2) }
            } else {
                try? await gracefulShutdown()
            }
        }
        try? notifier.notify([.stopping, .status("stopping")])
    }
}

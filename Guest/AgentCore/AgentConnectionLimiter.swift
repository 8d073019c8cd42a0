import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

/// How the listeners protect themselves from many or idle connections, and who may use the unix socket.
public struct AgentConnectionOptions: Sendable {
    /// The longest long-poll the agent serves: `GET /v1/exec/{id}/output?wait_ms=` up to 60 s.
    public static let longestLongPoll: Duration = .seconds(60)

    /// A connection with no request in progress for this long is closed; longer than ``longestLongPoll``.
    public var idleTimeout: Duration
    /// The most connections one listener keeps open. A connection beyond it closes the listener's longest-idle
    /// connection (one with no request in progress), or is itself closed at once when every connection is busy.
    public var maxConnectionsPerListener: Int
    /// The group the unix socket is given (mode 0660) when it exists; otherwise the socket stays root's only.
    public var socketGroup: String?

    /// Creates options; the defaults are the installed agent's.
    /// - Parameters:
    ///   - idleTimeout: The idle-connection timeout (default 120 s).
    ///   - maxConnectionsPerListener: The cap on open connections per listener (default 4096; the unit's
    ///     `LimitNOFILE=65536` leaves room for both listeners, jobs and files).
    ///   - socketGroup: The unix socket's group (default `somnus`).
    public init(
        idleTimeout: Duration = .seconds(120),
        maxConnectionsPerListener: Int = 4096,
        socketGroup: String? = "somnus"
    ) {
        precondition(maxConnectionsPerListener > 0, "the connection cap must be positive")
        self.idleTimeout = idleTimeout
        self.maxConnectionsPerListener = maxConnectionsPerListener
        self.socketGroup = socketGroup
    }
}

/// The open connections of one listener, capped: a new connection beyond the cap evicts the connection idle the
/// longest, so idle connections cannot lock out the host's polls or `/v1/health/live`.
final class AgentConnectionLimiter: Sendable {
    /// One open connection; its fields change only on its event loop or under the limiter's lock.
    final class Entry: Sendable {
        /// Closes the connection (from any thread).
        let close: @Sendable () -> Void
        let serial: Int
        /// Requests read and not yet answered, and when the connection last went idle.
        let activity = Mutex<(inFlight: Int, idleSince: ContinuousClock.Instant)>((0, .now))

        init(close: @escaping @Sendable () -> Void, serial: Int) {
            self.close = close
            self.serial = serial
        }
    }

    let capacity: Int
    private let entries = Mutex<(open: [Int: Entry], next: Int, evicted: Int, refused: Int)>(([:], 0, 0, 0))

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// The number of open connections.
    var count: Int { entries.withLock { $0.open.count } }
    /// How many idle connections were closed to admit new ones, and how many new ones were refused.
    var counters: (evicted: Int, refused: Int) { entries.withLock { ($0.evicted, $0.refused) } }

    /// Admits a connection: evicts the longest-idle one when at the cap, or returns `nil` (close the new one) when
    /// every connection has a request in progress.
    /// - Parameter close: Closes the new connection when it is evicted later.
    func admit(close: @escaping @Sendable () -> Void) -> Entry? {
        let (admitted, victim) = entries.withLock { state -> (Entry?, Entry?) in
            var victim: Entry?
            if state.open.count >= capacity {
                var oldest: (Entry, ContinuousClock.Instant)?
                for entry in state.open.values {
                    let (inFlight, since) = entry.activity.withLock { ($0.inFlight, $0.idleSince) }
                    guard inFlight == 0 else { continue }
                    if oldest == nil || since < (oldest?.1 ?? since) { oldest = (entry, since) }
                }
                guard let oldest else {
                    state.refused += 1
                    return (nil, nil)
                }
                state.open[oldest.0.serial] = nil
                state.evicted += 1
                victim = oldest.0
            }
            state.next += 1
            let entry = Entry(close: close, serial: state.next)
            state.open[entry.serial] = entry
            return (entry, victim)
        }
        victim?.close()
        return admitted
    }

    /// Forgets a closed connection.
    func remove(_ entry: Entry) {
        _ = entries.withLock { $0.open.removeValue(forKey: entry.serial) }
    }

    /// The channel handler that registers each connection and tracks whether it has a request in progress.
    func makeHandler() -> ConnectionHandler { ConnectionHandler(limiter: self) }

    /// Sits after the HTTP codec of every connection of one listener.
    final class ConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPRequestPart
        typealias InboundOut = HTTPRequestPart
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart

        private let limiter: AgentConnectionLimiter
        private var entry: Entry?

        init(limiter: AgentConnectionLimiter) {
            self.limiter = limiter
        }

        func handlerAdded(context: ChannelHandlerContext) {
            let channel = context.channel
            guard let entry = limiter.admit(close: { channel.close(promise: nil) }) else {
                context.close(promise: nil)
                return
            }
            self.entry = entry
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            if let entry { limiter.remove(entry) }
            entry = nil
        }

        func channelInactive(context: ChannelHandlerContext) {
            if let entry { limiter.remove(entry) }
            entry = nil
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            if case .head = unwrapInboundIn(data) {
                entry?.activity.withLock { $0.inFlight += 1 }
            }
            context.fireChannelRead(data)
        }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data) {
                entry?.activity.withLock {
                    $0.inFlight = max(0, $0.inFlight - 1)
                    $0.idleSince = .now
                }
            }
            context.write(data, promise: promise)
        }
    }
}

import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import Synchronization

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

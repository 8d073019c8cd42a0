import AgentAPI
import AgentJobs
import AgentSystem
import FoundationEssentials
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Request counters for `GET /metrics`, keyed by method, route pattern and status, and when the last answer went out.
final class AgentMetrics: Sendable {
    /// One counter's labels.
    struct Key: Hashable, Comparable {
        var method: String
        var route: String
        var status: Int

        static func < (left: Key, right: Key) -> Bool {
            (left.route, left.method, left.status) < (right.route, right.method, right.status)
        }
    }

    private let requests = Mutex<[Key: Int]>([:])
    private let lastAnswer = Mutex<ContinuousClock.Instant?>(nil)
    private let firstAnswer = AsyncStream<Void>.makeStream()

    func count(method: String, route: String, status: Int) {
        requests.withLock { $0[Key(method: method, route: route, status: status), default: 0] += 1 }
        let first = lastAnswer.withLock { last in
            defer { last = .now }
            return last == nil
        }
        if first { firstAnswer.continuation.finish() }
    }

    /// Returns once a request has been answered and none has been for `quiet` since (cancellable).
    func waitForQuietAfterFirstAnswer(_ quiet: Duration) async throws {
        for await _ in firstAnswer.stream {}
        while let last = lastAnswer.withLock({ $0 }), ContinuousClock.now - last < quiet {
            try await Task.sleep(until: last + quiet)
        }
        try Task.checkCancellation()
    }

    /// The counters, sorted by route, method and status.
    func snapshot() -> [(key: Key, value: Int)] {
        requests.withLock { $0 }.sorted { $0.key < $1.key }
    }
}

import AgentAPI
import AgentJobs
import AgentSystem
import FoundationEssentials
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

/// Request counters for `GET /metrics`, keyed by method, route pattern and status.
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

    func count(method: String, route: String, status: Int) {
        requests.withLock { $0[Key(method: method, route: route, status: status), default: 0] += 1 }
    }

    /// The counters, sorted by route, method and status.
    func snapshot() -> [(key: Key, value: Int)] {
        requests.withLock { $0 }.sorted { $0.key < $1.key }
    }
}
